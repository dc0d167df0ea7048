// Writes files into a FAT filesystem inside a file (at `offset`: 0 for a partition on its own)
// with mtools: no root, no loop. A top-level folder among the files replaces the one on the
// volume whole (what an earlier build left there must not mix with this build's).
import { copyFile, mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ensureOk, type CommandRunner } from '../command-runner.js';
import { REPRODUCIBLE_TIME } from './reproducible-time.js';
import { tempPrefix } from '../output/leftovers.js';

/** `name` is relative to the FAT root, `/`-separated; content given, or copied from `source`. */
export type FatFile = { readonly name: string } & ({ readonly content: string | Uint8Array } | { readonly source: string });

export async function writeFatFiles(run: CommandRunner, image: string, offset: number, files: readonly FatFile[]): Promise<void> {
  const staging = await mkdtemp(tempPrefix('fat'));
  const volume = `${image}@@${offset}`;
  try {
    for (const file of files) {
      const path = join(staging, ...file.name.split('/'));
      await mkdir(dirname(path), { recursive: true });
      if ('source' in file) await copyFile(file.source, path);
      else await writeFile(path, file.content, { mode: 0o600 });
    }
    const top = await readdir(staging);
    for (const name of top) await stampTree(join(staging, name)); // with -m: the same bytes every build
    await removeFatFolders(run, image, offset, files);
    ensureOk('mcopy', await run('mcopy', ['-s', '-o', '-m', '-i', volume, ...top.map((n) => join(staging, n)), '::/']));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function stampTree(path: string): Promise<void> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => undefined);
  for (const entry of entries ?? []) await stampTree(join(path, entry.name));
  await utimes(path, REPRODUCIBLE_TIME, REPRODUCIBLE_TIME);
}

/** Removes, whole, each top-level folder the files would go into. */
export async function removeFatFolders(run: CommandRunner, image: string, offset: number, files: readonly FatFile[]): Promise<void> {
  const volume = `${image}@@${offset}`;
  for (const folder of new Set(files.filter((f) => f.name.includes('/')).map((f) => f.name.split('/')[0]!))) {
    const present = await run('mdir', ['-b', '-i', volume, `::/${folder}`]);
    if (present.exitCode === 0) ensureOk('mdeltree', await run('mdeltree', ['-i', volume, `::/${folder}`]));
  }
}
