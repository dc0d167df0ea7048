// Temporary files and folders of a build carry `.partial-<pid>` in their names. That one mark
// lets a signal handler remove this process's own, and lets the next build remove those of a
// process that no longer exists (kill -9, a power cut), without touching anything else.
import { readdirSync, rmSync, type Dirent } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MARK = /\.partial-(\d+)(?:$|[-.])/;
const MAX_DEPTH = 3; // out/, cache/, cache/node-runtime/<pkg>/, cache/chunks/<xx>/

let made = 0;
/**
 * A temporary sibling of `path` for this process, never handed out twice: two writers of one
 * target (two nodes compressing the same chunk at once) must not share a temporary.
 */
export const partialPath = (path: string): string => `${path}.partial-${process.pid}-${++made}`;
/** A prefix for mkdtemp in the system temp folder. */
export const tempPrefix = (name: string): string => join(tmpdir(), `mcpi-${name}.partial-${process.pid}-`);

const watched = new Set<string>([tmpdir()]);

/** Remember a folder this job writes temporaries into. */
export function watchForLeftovers(dir: string): void {
  watched.add(dir);
}

/** A build's temporary (this process's or another's): not an output, whatever its name says. */
export const isPartialName = (name: string): boolean => MARK.test(name);

const pidOf = (name: string): number | undefined => {
  const match = MARK.exec(name);
  return match ? Number(match[1]) : undefined;
};

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // someone else's live process
  }
}

/** Marked entries under `dir` (the system temp folder: only our own `mcpi-` ones). */
function* marked(dir: string, depth = 0): Generator<{ path: string; pid: number }> {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  const ours = dir !== tmpdir();
  for (const entry of entries) {
    const pid = pidOf(entry.name);
    if (pid !== undefined && (ours || entry.name.startsWith('mcpi-'))) yield { path: join(dir, entry.name), pid };
    else if (ours && entry.isDirectory() && depth < MAX_DEPTH) yield* marked(join(dir, entry.name), depth + 1);
  }
}

/** Synchronous, for signal handlers: removes this process's temporaries everywhere it wrote. */
export function removeOwnLeftoversSync(): string[] {
  const removed: string[] = [];
  for (const dir of watched) {
    for (const { path, pid } of marked(dir)) {
      if (pid !== process.pid) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    }
  }
  return removed;
}

/** Removes temporaries of processes that are gone; a live process's files are left alone. */
export async function sweepStaleLeftovers(dir: string): Promise<string[]> {
  watchForLeftovers(dir);
  const stale = [...marked(dir)].filter(({ pid }) => pid !== process.pid && !alive(pid));
  await Promise.all(stale.map(({ path }) => rm(path, { recursive: true, force: true })));
  return stale.map(({ path }) => path);
}


const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
/** How long a stopped build lets file operations already under way in the thread pool finish before its last sweep. */
const SETTLE_MS = 150;

/** On Ctrl-C, a CI job's kill or a closed terminal: remove our temporaries, then exit 128+n. */
export function exitCleanlyOnSignals(log: (line: string) => void): void {
  for (const [signal, code] of Object.entries(SIGNAL_EXIT)) {
    process.on(signal, () => {
      const removed = removeOwnLeftoversSync();
      // A file open already handed to libuv's thread pool (a chunk's temporary, queued behind the compression) can still be
      // created after that sweep: wait a moment without running any JS, so nothing new is started, then sweep again.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SETTLE_MS);
      removed.push(...removeOwnLeftoversSync());
      log(`${signal}: stopped${removed.length ? `; removed ${removed.length} temporary file${removed.length === 1 ? '' : 's'}` : ''}.`);
      process.exit(code);
    });
  }
}
