// The join passphrase reaches a Pi in its user-data, and cloud-init copies that around: the FAT
// seed (readable by every user), and its own caches (user-data.txt, .txt.i, cloud-config.txt,
// the pickled datasource, instance data under /run). The service keeps the passphrase only in
// the root-only preseed while it needs it, and overwrites every other copy, in every encoding it
// takes there (cloud-init re-dumps user-data with PyYAML, which escapes and folds long lines),
// with as many 'x' bytes: sizes stay, so a YAML file still parses and the pickle still loads
// when cloud-init reads its cache on the next boot.
import type { FileAccess } from './types.js';

/** Where copies of user-data live: files, or folders searched whole. */
export const SECRET_COPIES = ['/boot/firmware/user-data', '/var/lib/cloud', '/run/cloud-init'] as const;
/** Caches are small; anything bigger is not a copy of user-data (and is not read into memory). */
const MAX_SCANNED_BYTES = 16 * 2 ** 20;

const jsonEscaped = (text: string) => JSON.stringify(text).slice(1, -1);
const singleQuoted = (text: string) => text.replace(/'/g, "''");
/** PyYAML's own short escapes (yaml/emitter.py ESCAPE_REPLACEMENTS). */
const PYYAML_ESCAPES: Readonly<Record<string, string>> = {
  '\0': '0', '\x07': 'a', '\b': 'b', '\t': 't', '\n': 'n', '\v': 'v', '\f': 'f', '\r': 'r', '\x1b': 'e',
  '"': '"', '\\': '\\', '\x85': 'N', '\xa0': '_', '\u2028': 'L', '\u2029': 'P',
};
/** PyYAML's double quotes without allow_unicode (cloud-init's cloud-config.txt): its short escapes, then \xHH / \uHHHH / \UHHHHHHHH. */
const pyYamlEscaped = (text: string) => [...text].map((c) => {
  if (PYYAML_ESCAPES[c] !== undefined) return `\\${PYYAML_ESCAPES[c]}`;
  const code = c.codePointAt(0)!;
  if (code >= 0x20 && code < 0x7f) return c;
  if (code <= 0xff) return `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`;
  if (code <= 0xffff) return `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return `\\U${code.toString(16).toUpperCase().padStart(8, '0')}`;
}).join('');

/**
 * The passphrase as it appears in those copies: as is, and escaped for JSON, for YAML's double
 * and single quotes, and the escapes of those escapes (a JSON copy of a YAML file). Pure.
 */
export function secretForms(secret: string): string[] {
  const once = [secret, jsonEscaped(secret), singleQuoted(secret), pyYamlEscaped(secret)];
  const twice = once.flatMap((f) => [jsonEscaped(f), singleQuoted(f), pyYamlEscaped(f)]);
  return [...new Set([...once, ...twice])].filter(Boolean);
}

const toBytes = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
const regexEscaped = (c: string) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/**
 * PyYAML folds long lines. In single quotes it turns a space into a line break and indentation;
 * in double quotes it may end a line with a backslash anywhere it could split (before a space,
 * which then starts the next line as "\ ", or after an escape), so any two characters may have
 * such a fold between them.
 */
const SPACE = '(?: |\\n[ \\t]*|\\\\ )';
const DOUBLE_QUOTED_FOLD = '(?:\\\\\\n[ \\t]*)?';

/** One pattern for every form, over the file's bytes read as latin1 (one character per byte). Pure. */
export function secretPattern(secret: string): RegExp {
  const forms = secretForms(secret).map(toBytes).sort((a, b) => b.length - a.length); // longest first
  const folded = (form: string) => [...form].map((c) => (c === ' ' ? SPACE : regexEscaped(c))).join(DOUBLE_QUOTED_FOLD);
  return new RegExp(forms.map(folded).join('|'), 'g');
}

/** `data` with every occurrence overwritten by 'x' (line breaks and the indentation after them kept), or undefined when none occurs. Pure. */
export function withoutSecret(data: Buffer, pattern: RegExp): Buffer | undefined {
  const text = data.toString('latin1');
  let found = false;
  const clean = text.replace(pattern, (match) => {
    found = true;
    return match.replace(/\n[ \t]*|[^]/g, (piece) => (piece.startsWith('\n') ? piece : 'x'));
  });
  return found ? Buffer.from(clean, 'latin1') : undefined;
}

/** Overwrites the passphrase in every copy under `places`; returns the files it changed. */
export async function scrubSecret(files: FileAccess, secret: string, places: readonly string[] = SECRET_COPIES): Promise<string[]> {
  const pattern = secretPattern(secret);
  const changed: string[] = [];
  for (const place of places) {
    for (const path of await files.list(place)) {
      const data = await files.readBytes(path);
      if (!data || data.length > MAX_SCANNED_BYTES) continue;
      const clean = withoutSecret(data, pattern);
      if (!clean) continue;
      await files.overwrite(path, clean);
      changed.push(path);
    }
  }
  return changed;
}
