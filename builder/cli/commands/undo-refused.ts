// A build that stops before it wrote any card leaves nothing of its own behind: the secrets file
// it created (no card carries that passphrase) and the output folder it created, still empty.
// What was there before the run is never touched; once any card is written, everything stays.
import { lstat, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { removeOwnLeftoversSync } from '../../output/leftovers.js';

/** The output folder's entries and their modification times; undefined when it does not exist. */
type Entries = ReadonlyMap<string, number> | undefined;

/** The output folder before the run: its entries, and the folders of its path that did not exist yet. */
export interface FolderBefore { readonly entries: Entries; readonly missing: readonly string[] }

const isTemporary = (name: string) => name.includes('.partial-');

async function entriesOf(dir: string): Promise<Entries> {
  const names = await readdir(dir).catch(() => undefined);
  if (!names) return undefined;
  return new Map(await Promise.all(names.filter((n) => !isTemporary(n))
    .map(async (n) => [n, await lstat(join(dir, n)).then((s) => s.mtimeMs, () => -1)] as const)));
}

export async function lookAtOutFolder(dir: string): Promise<FolderBefore> {
  const missing: string[] = [];
  for (let path = resolve(dir); path !== dirname(path); path = dirname(path)) {
    if (await lstat(path).then(() => true, () => false)) break;
    missing.push(path); // deepest first: the order to remove them in
  }
  return { entries: await entriesOf(dir), missing };
}

/** Whether the run wrote anything into the output folder: an entry that is new, or newer. */
async function wroteAny(dir: string, before: Entries): Promise<boolean> {
  const now = await entriesOf(dir);
  return !!now && [...now].some(([name, mtime]) => before?.get(name) !== mtime);
}

export interface RunTrace {
  readonly outDir: string;
  readonly outBefore: FolderBefore;
  /** The secrets file this run created and what it wrote into it. */
  readonly createdSecrets?: { readonly file: string; readonly text: string };
}

/** After a failed run: remove what it created when it wrote no card. Returns what was removed. */
export async function undoUnpublishedRun(trace: RunTrace): Promise<string[]> {
  removeOwnLeftoversSync(); // this run's temporaries first, so that an empty folder is seen as empty
  if (await wroteAny(trace.outDir, trace.outBefore.entries)) return [];
  const removed: string[] = [];
  const secrets = trace.createdSecrets;
  // Only the file as this run wrote it: a passphrase someone put there meanwhile stays.
  if (secrets && await readFile(secrets.file, 'utf8').then((t) => t === secrets.text, () => false)) {
    await rm(secrets.file, { force: true });
    removed.push(secrets.file);
  }
  for (const dir of trace.outBefore.missing) { // only folders this run made, and only while empty
    if (!(await rmdir(dir).then(() => true, () => false))) break;
    removed.push(dir);
  }
  return removed;
}
