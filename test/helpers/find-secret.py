# Where a passphrase can still be read under a folder, and how it is written there: a check of the scrub
# with Python's own codecs (those cloud-init writes with), not with the scrub's code. Reads the
# passphrase on stdin, argv[1] is the folder. Looks for each word of it (a fold of a long YAML
# line may come between two words) in every encoding below, and tries to load every file cloud-init
# reads back (the pickles, the YAML, the JSON). Prints {"found": {path: [encoding]}, "unreadable": {path: error}}.
import base64
import json
import os
import pickle
import quopri
import re
import sys

import yaml

root = sys.argv[1]
secret = sys.stdin.read()
words = [w for w in secret.split(" ") if len(w.encode()) >= 4]


def hex_upper(text):
    return re.sub(r"\\([uUx])([0-9a-f]+)", lambda m: "\\" + m[1] + m[2].upper(), text)


def hex_lower(text):
    return re.sub(r"\\([uUx])([0-9A-F]+)", lambda m: "\\" + m[1] + m[2].lower(), text)


def encodings(word):
    """(name, bytes) for one word, searched in the file as it is and with its YAML folds removed."""
    raw = word.encode()
    json_ascii = json.dumps(word)[1:-1]
    pyyaml = yaml.dump(word, default_style='"', width=10**9).strip()[1:-1]
    pickle0 = pickle.dumps(word, protocol=0)[1:].split(b"\n")[0]
    surrogates = raw.decode("ascii", "surrogateescape")
    yield "UTF-8", raw
    yield "UTF-16LE", word.encode("utf-16-le")
    yield "UTF-16BE", word.encode("utf-16-be")
    yield "JSON \\u escapes, lower case", hex_lower(json_ascii).encode()
    yield "JSON \\u escapes, upper case", hex_upper(json_ascii).encode()
    yield "PyYAML escapes", pyyaml.encode()
    yield "PyYAML escapes, lower case", hex_lower(pyyaml).encode()
    yield "raw-unicode-escape (pickle 0)", pickle0
    yield "surrogate escapes, UTF-8 (pickle of the MIME payload)", surrogates.encode("utf-8", "surrogatepass")
    yield "surrogate escapes, raw-unicode-escape", pickle.dumps(surrogates, protocol=0)[1:].split(b"\n")[0]
    yield "U+FFFD for each byte (MIME text)", raw.decode("ascii", "replace").encode()
    yield "UTF-8 bytes read as latin-1, UTF-8 again (pickle 1-2 of bytes)", raw.decode("latin-1").encode()
    qp = quopri.encodestring(raw)
    yield "quoted-printable", qp
    yield "quoted-printable, lower case", re.sub(rb"=([0-9A-F]{2})", lambda m: b"=" + m[1].lower(), qp)


def base64_forms(word):
    """The word's base64 at each of the three offsets it may start at in a longer text."""
    raw = word.encode()
    for shift in range(3):
        text = base64.b64encode(b"\0" * shift + raw)
        first = -(-8 * shift // 6)  # the first character made of the word's bits only
        last = 8 * (shift + len(raw)) // 6
        yield text[first:last]


URL_SAFE = bytes.maketrans(b"+/", b"-_")


def found_in(data):
    unfolded = re.sub(rb"\\\n[ \t]*", b"", data)
    one_line = re.sub(rb"\s+", b"", data)
    soft_breaks_removed = re.sub(rb"=\r?\n", b"", data)
    kinds = set()
    for word in words:
        seen = set()  # an encoding that writes this word as another does is named after the first
        in_preseed = json.dumps(word, ensure_ascii=False)[1:-1]  # the build writes it as a JSON string
        for name, needle in [*encodings(word), *encodings(in_preseed)]:
            if needle in seen:
                continue
            seen.add(needle)
            haystack = soft_breaks_removed if name.startswith("quoted") else unfolded
            if needle in data or needle in haystack:
                kinds.add(name)
        for needle in [*base64_forms(word), *base64_forms(in_preseed)]:
            if needle in one_line or needle.translate(URL_SAFE) in one_line:
                kinds.add("base64")
    return sorted(kinds)


def load(path, data):
    name = os.path.basename(path)
    if name.startswith("obj.pkl"):
        pickle.loads(data)
    elif name.endswith(".json"):
        json.loads(data)
    elif name in ("cloud-config.txt", "user-data", "user-data.txt"):
        yaml.safe_load(data)


report = {"found": {}, "unreadable": {}}
for folder, _dirs, files in os.walk(root):
    for name in files:
        path = os.path.join(folder, name)
        if os.path.islink(path):
            continue  # the file it points to is searched where it is
        with open(path, "rb") as f:
            data = f.read()
        rel = os.path.relpath(path, root)
        kinds = found_in(data)
        if kinds:
            report["found"][rel] = kinds
        try:
            load(path, data)
        except Exception as e:  # noqa: BLE001 (any failure to read it back counts)
            report["unreadable"][rel] = f"{type(e).__name__}: {e}"
json.dump(report, sys.stdout, indent=1, sort_keys=True)
