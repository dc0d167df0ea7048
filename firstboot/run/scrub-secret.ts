// The join passphrase reaches a Pi in its user-data, and cloud-init copies that around: the FAT
// seed (readable by every user), and its own caches (user-data.txt, .txt.i, cloud-config.txt,
// the pickled datasource, instance data under /run). The service keeps the passphrase only in
// the root-only preseed while it needs it, and overwrites every other copy, in every encoding it
// takes there (secret-encodings.ts; PyYAML's re-dump also folds long lines), with as many 'x'
// bytes: sizes stay, so a YAML file still parses and the pickle still loads when cloud-init
// reads its cache on the next boot.
import { secretPattern } from './secret-encodings.js';
import type { FileAccess } from './types.js';

export { secretPattern };

/** Where copies of user-data live: files, or folders searched whole. */
export const SECRET_COPIES = ['/boot/firmware/user-data', '/var/lib/cloud', '/run/cloud-init'] as const;
/** Caches are small; anything bigger is not a copy of user-data (and is not read into memory). */
const MAX_SCANNED_BYTES = 16 * 2 ** 20;

/** PyYAML's fold of a double-quoted line: a backslash, a line break, the next line's indentation. */
const DOUBLE_QUOTED_FOLD = /\\\n[ \t]*/g;

/**
 * `text` without the double-quoted folds, and where each of its characters was in `text`:
 * the pattern then needs no fold between every two characters (any may have one).
 */
function unfolded(text: string): { text: string; origin: (i: number) => number } {
  const cuts: { at: number; skipped: number }[] = []; // from index `at` of the unfolded text on, `skipped` more in the original
  let skipped = 0;
  const kept = text.replace(DOUBLE_QUOTED_FOLD, (fold, offset: number) => {
    skipped += fold.length;
    cuts.push({ at: offset + fold.length - skipped, skipped });
    return '';
  });
  const origin = (i: number) => {
    let lo = 0;
    let hi = cuts.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cuts[mid]!.at <= i) lo = mid + 1; else hi = mid; }
    return i + (lo ? cuts[lo - 1]!.skipped : 0);
  };
  return { text: kept, origin };
}

/**
 * `data` with every occurrence overwritten by 'x' (line breaks and the indentation after them
 * kept, so folded YAML still parses), or undefined when none occurs. Pure.
 */
export function withoutSecret(data: Buffer, pattern: RegExp): Buffer | undefined {
  const original = data.toString('latin1');
  const { text, origin } = unfolded(original);
  const spans: [number, number][] = [];
  for (const match of text.matchAll(pattern)) {
    if (!match[0]) continue;
    spans.push([origin(match.index!), origin(match.index! + match[0].length - 1) + 1]);
  }
  if (!spans.length) return undefined;
  let clean = '';
  let done = 0;
  for (const [start, end] of spans) {
    clean += original.slice(done, start) + original.slice(start, end).replace(/\n[ \t]*|[^]/g, (piece) => (piece.startsWith('\n') ? piece : 'x'));
    done = end;
  }
  return Buffer.from(clean + original.slice(done), 'latin1');
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
