// Writes files, directories and symlinks into the ext4 `writable` partition of an image file
// with debugfs: no root, no loop mount, owners and modes set explicitly, times pinned.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { ensureOk, type CommandRunner } from '../command-runner.js';
import { CommandFailed } from '../command-runner.js';
import type { PartitionPlace } from './layout.js';
import { REPRODUCIBLE_TIME } from './reproducible-time.js';
import { tempPrefix } from '../output/leftovers.js';

export type RootEntry =
  | { readonly kind: 'file'; readonly path: string; readonly source: string; readonly mode: number; readonly uid?: number; readonly gid?: number }
  | { readonly kind: 'dir'; readonly path: string; readonly mode: number }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string };

// debugfs splits its command lines on blanks and has no escaping we can trust.
const SAFE_PATH = /^\/[A-Za-z0-9._@+:/-]*$/;

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

/** The debugfs script for a set of entries. Pure. Parent directories come first, once. */
export function debugfsScript(entries: readonly RootEntry[]): string[] {
  for (const e of entries) {
    if (!SAFE_PATH.test(e.path)) throw new Error(`unsafe path for debugfs: ${JSON.stringify(e.path)}`);
    if (e.kind === 'file' && /\s/.test(e.source)) throw new Error(`unsafe source path for debugfs: ${JSON.stringify(e.source)}`);
  }
  const lines: string[] = [];
  const made = new Set<string>(['/']);
  const mkdirs = (dir: string) => {
    if (made.has(dir)) return;
    mkdirs(posix.dirname(dir));
    lines.push(`mkdir ${dir}`);
    made.add(dir);
  };
  for (const e of entries) {
    mkdirs(posix.dirname(e.path));
    if (e.kind === 'dir') {
      mkdirs(e.path);
      lines.push(`sif ${e.path} mode 0${(S_IFDIR | e.mode).toString(8)}`, `sif ${e.path} uid 0`, `sif ${e.path} gid 0`);
    } else if (e.kind === 'file') {
      lines.push(`write ${e.source} ${e.path}`, `sif ${e.path} mode 0${(S_IFREG | e.mode).toString(8)}`,
        `sif ${e.path} uid ${e.uid ?? 0}`, `sif ${e.path} gid ${e.gid ?? 0}`);
    } else {
      lines.push(`symlink ${e.path} ${e.target}`);
    }
  }
  return lines;
}

export async function writeExt4Entries(run: CommandRunner, image: string, root: PartitionPlace,
  entries: readonly RootEntry[]): Promise<void> {
  const script = debugfsScript(entries);
  const dir = await mkdtemp(tempPrefix('debugfs'));
  try {
    const file = posix.join(dir, 'script');
    await writeFile(file, `${script.join('\n')}\n`);
    const ran = ensureOk('debugfs', await run('debugfs', ['-w', '-f', file, `${image}?offset=${root.offset}`],
      { env: { E2FSPROGS_FAKE_TIME: String(REPRODUCIBLE_TIME) } }));
    // debugfs exits 0 even when a command fails; its stderr is the only report. An existing
    // directory is fine (we mkdir every parent); anything else is a failure.
    const failures = ran.stderr.split('\n').filter((line) => line.trim()
      && !/^debugfs \d/.test(line) && !/directory already exists/.test(line));
    if (failures.length) throw new CommandFailed('debugfs', ran.exitCode, failures.join('\n'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
