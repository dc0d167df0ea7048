// Every way a character of the join passphrase is written in the copies cloud-init keeps of
// user-data (found with Debian's cloud-init: test/secret-scrub.test.ts). Each writer on the way
// encodes character by character, so the passphrase's pattern is one group of alternatives per
// character: the build's preseed (JSON) and user-data (a YAML block, or JSON), then
// - user-data.txt, the FAT seed: as is, UTF-8;
// - user-data.txt.i (a MIME part built from bytes): each non-ASCII byte as U+FFFD;
// - cloud-config.txt (PyYAML, no allow_unicode): \xHH, \uHHHH, \UHHHHHHHH and short escapes;
// - combined-cloud-config.json, instance-data-sensitive.json (json.dumps): \uhhhh, surrogate pairs;
// - obj.pkl (pickle protocol 4): UTF-8 for text, and the MIME payload's surrogate escapes
//   (U+DC80-U+DCFF, one per byte) UTF-8 encoded; protocol 0 would write raw-unicode-escape
//   (latin-1 bytes, \uhhhh, \u005c for a backslash); bytes at protocols 0-2, latin-1 text again.
// An occurrence mixing these (one letter escaped, the next raw) matches too: still the passphrase.

/** PyYAML's own short escapes (yaml/emitter.py ESCAPE_REPLACEMENTS). */
const PYYAML_ESCAPES: Readonly<Record<string, string>> = {
  '\0': '0', '\x07': 'a', '\b': 'b', '\t': 't', '\n': 'n', '\v': 'v', '\f': 'f', '\r': 'r', '\x1b': 'e',
  '"': '"', '\\': '\\', '\x85': 'N', '\xa0': '_', '\u2028': 'L', '\u2029': 'P',
};
const JSON_ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't' };

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
/** An escape with its hex digits in either case: Python's json writes them lower, PyYAML upper. */
const escaped = (prefix: string, n: number, width: number) => [`\\${prefix}${hex(n, width)}`, `\\${prefix}${hex(n, width).toUpperCase()}`];
/** Every concatenation of one choice from each list. */
const combined = (choices: string[][]) => choices.reduce((all, next) => all.flatMap((a) => next.map((n) => a + n)), ['']);
const utf16Units = (cp: number) => (cp > 0xffff ? [0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff)] : [cp]);

/** What one character may become in a text writer's output: itself, or an escape by JSON, YAML double or single quotes. */
function textEscapes(c: string): string[] {
  const cp = c.codePointAt(0)!;
  const out = [c];
  if (JSON_ESCAPES[c]) out.push(`\\${JSON_ESCAPES[c]}`);
  if (cp < 0x20 || cp >= 0x7f) out.push(...combined(utf16Units(cp).map((u) => escaped('u', u, 4)))); // JSON, ensure_ascii
  if (PYYAML_ESCAPES[c]) out.push(`\\${PYYAML_ESCAPES[c]}`);
  else if (cp < 0x20 || cp >= 0x7f) out.push(...(cp <= 0xff ? escaped('x', cp, 2) : cp <= 0xffff ? escaped('u', cp, 4) : escaped('U', cp, 8)));
  if (c === ' ') out.push('\\ '); // PyYAML, where it folds a double-quoted line at a space
  if (c === "'") out.push("''");
  return [...new Set(out)];
}

/** Every string `text` may become under one more text writer, character by character. */
const escapedOnce = (text: string): string[] => combined([...text].map(textEscapes));

/** Text writers one inside another: the preseed's JSON, the user-data's JSON fallback, then the copy's own. */
const TEXT_DEPTH = 3;

const latin1 = (bytes: Buffer) => bytes.toString('latin1');
const utf8 = (text: string) => latin1(Buffer.from(text, 'utf8'));
/** A lone surrogate, UTF-8 encoded as Python's surrogatepass does (Node would write U+FFFD). */
const surrogateUtf8 = (unit: number) => String.fromCharCode(0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f));
/** pickle protocol 0 (UNICODE): raw-unicode-escape, after pickle's own escapes of \ NUL LF CR and ^Z. */
const pickle0 = (text: string) => [...text].map((c) => {
  const cp = c.codePointAt(0)!;
  if ('\\\0\n\r\x1a'.includes(c)) return `\\u${hex(cp, 4)}`;
  if (cp <= 0xff) return c;
  return cp <= 0xffff ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
}).join('');
const isAscii = (c: string) => c.charCodeAt(0) < 0x80;
/** Each non-ASCII byte as one of the given text (the byte as a surrogate escape, a latin-1 char, or U+FFFD). */
const perByte = (text: string, each: (byte: number) => string) =>
  [...text].map((c) => (isAscii(c) ? c : [...Buffer.from(c, 'utf8')].map(each).join(''))).join('');

/** The bytes (one latin-1 char each) a file may hold for `text`. */
function byteForms(text: string): string[] {
  const surrogates = perByte(text, (b) => String.fromCharCode(0xdc00 + b));
  const latin1Chars = perByte(text, (b) => String.fromCharCode(b));
  return [
    utf8(text), pickle0(text),
    [...surrogates].map((c) => (isAscii(c) ? c : surrogateUtf8(c.charCodeAt(0)))).join(''), pickle0(surrogates),
    utf8(latin1Chars), pickle0(latin1Chars),
    utf8(perByte(text, () => '\ufffd')),
  ];
}

/** For each character of `secret`, every byte string it may be written as (latin-1, longest first). Pure. */
export function secretAlternatives(secret: string): string[][] {
  return [...secret].map((c) => {
    let texts = new Set([c]);
    for (let depth = 0; depth < TEXT_DEPTH; depth++) texts = new Set([...texts].flatMap(escapedOnce));
    const bytes = new Set([...texts].flatMap(byteForms));
    return [...bytes].sort((a, b) => b.length - a.length);
  });
}

const regexEscaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** PyYAML folds single-quoted and plain lines at a space: a line break and the next line's indentation. */
const SPACE_FOLD = '\\n[ \\t]*';

/**
 * One pattern for the passphrase in any of those encodings, over a file's bytes read as latin-1
 * (one character per byte), with PyYAML's double-quoted folds (backslash, line break,
 * indentation) taken out first: see withoutSecret. Pure.
 */
export function secretPattern(secret: string): RegExp {
  const groups = secretAlternatives(secret).map((alternatives, i) => {
    const options = alternatives.map(regexEscaped);
    if ([...secret][i] === ' ') options.push(SPACE_FOLD);
    return `(?:${options.join('|')})`;
  });
  return new RegExp(groups.join(''), 'g');
}
