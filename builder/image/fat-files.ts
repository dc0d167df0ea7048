// Writes files into a FAT filesystem inside a file (at `offset`: 0 for a partition on its own)
// with mtools: no root, no loop.
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureOk, type CommandRunner } from '../command-runner.js';
import { REPRODUCIBLE_TIME } from './reproducible-time.js';
import { tempPrefix } from '../output/leftovers.js';

export interface FatFile { readonly name: string; readonly content: string | Uint8Array }

export async function writeFatFiles(run: CommandRunner, image: string, offset: number, files: readonly FatFile[]): Promise<void> {
  const staging = await mkdtemp(tempPrefix('fat'));
  try {
    const paths: string[] = [];
    for (const file of files) {
      const path = join(staging, file.name);
      await writeFile(path, file.content, { mode: 0o600 });
      await utimes(path, REPRODUCIBLE_TIME, REPRODUCIBLE_TIME); // with -m: the same bytes every build
      paths.push(path);
    }
    ensureOk('mcopy', await run('mcopy', ['-o', '-m', '-i', `${image}@@${offset}`, ...paths, '::/']));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
