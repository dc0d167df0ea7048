// The join passphrase reaches a Pi in its user-data, and cloud-init copies that around: the FAT
// seed (readable by every user), and its own caches (user-data.txt, .txt.i, cloud-config.txt,
// the pickled datasource, instance data under /run). The service keeps the passphrase only in
// the root-only preseed while it needs it, and overwrites every other copy, in every encoding it
// takes there, with as many 'x' bytes: sizes stay, so a YAML file still parses and the pickle
// still loads when cloud-init reads its cache on the next boot.
import type { FileAccess } from './types.js';

/** Where copies of user-data live: files, or folders searched whole. */
export const SECRET_COPIES = ['/boot/firmware/user-data', '/var/lib/cloud', '/run/cloud-init'] as const;
/** Caches are small; anything bigger is not a copy of user-data (and is not read into memory). */
const MAX_SCANNED_BYTES = 16 * 2 ** 20;

const jsonEscaped = (text: string) => JSON.stringify(text).slice(1, -1);

/** The passphrase as it appears: as is, escaped for JSON / YAML double quotes (once and twice), in YAML single quotes. Pure. */
export function secretForms(secret: string): Buffer[] {
  const forms = new Set([secret, jsonEscaped(secret), jsonEscaped(jsonEscaped(secret)), secret.replace(/'/g, "''")]);
  // Longest first: a form that contains another is overwritten whole.
  return [...forms].filter(Boolean).map((f) => Buffer.from(f, 'utf8')).sort((a, b) => b.length - a.length);
}

/** `data` with every form overwritten, or undefined when none occurs. Pure. */
export function withoutSecret(data: Buffer, forms: readonly Buffer[]): Buffer | undefined {
  let out: Buffer | undefined;
  for (const form of forms) {
    for (let at = (out ?? data).indexOf(form); at !== -1; at = out!.indexOf(form, at + form.length)) {
      out ??= Buffer.from(data);
      out.fill('x', at, at + form.length);
    }
  }
  return out;
}

/** Overwrites the passphrase in every copy under `places`; returns the files it changed. */
export async function scrubSecret(files: FileAccess, secret: string, places: readonly string[] = SECRET_COPIES): Promise<string[]> {
  const forms = secretForms(secret);
  const changed: string[] = [];
  for (const place of places) {
    for (const path of await files.list(place)) {
      const data = await files.readBytes(path);
      if (!data || data.length > MAX_SCANNED_BYTES) continue;
      const clean = withoutSecret(data, forms);
      if (!clean) continue;
      await files.overwrite(path, clean);
      changed.push(path);
    }
  }
  return changed;
}
