// What the operator has revoked (`build-image revoke`), kept beside the cluster file so that
// `build-image status` knows it too: a lost card can still sign as its own node (its identity
// has no expiry), so the operator's view takes no answer from an identity issued at or before
// its node's revocation. Members learn revocations from the revocation itself (ticket-ledger.ts).
// Not secret; written whole under a temporary name and renamed.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

/** Node -> every identity and ticket of it issued at or before this moment (ms) is revoked. */
export type Revoked = Readonly<Record<string, number>>;

export const revocationsPathFor = (clusterFile: string): string =>
  join(dirname(clusterFile), `${basename(clusterFile, extname(clusterFile))}.revoked.json`);

/** The record, or none when there is no file; a file that does not parse is an error (a person must look, not a silent empty list). */
export async function readRevoked(clusterFile: string): Promise<Revoked> {
  const file = revocationsPathFor(clusterFile);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  const parsed = JSON.parse(text) as unknown;
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)
    || !Object.values(parsed).every((v) => Number.isSafeInteger(v)))
    throw new Error(`${file} is not a record of revocations (node: time in ms): restore it from a backup, or remove it and run build-image revoke again`);
  return parsed as Revoked;
}

/** Adds a revocation (the later one of a node wins). */
export async function recordRevoked(clusterFile: string, node: string, before: number): Promise<void> {
  const file = revocationsPathFor(clusterFile);
  const now = await readRevoked(clusterFile);
  const next = { ...now, [node]: Math.max(now[node] ?? 0, before) };
  const partial = `${file}.partial-${process.pid}`;
  await writeFile(partial, `${JSON.stringify(next, null, 2)}\n`);
  await rename(partial, file);
}
