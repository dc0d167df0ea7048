// The runtime as it travels on the boot partition: gzip of the `node` binary, made in process
// once per runtime and cached (keyed by the binary's SHA-256, so a --node-runtime file works too).
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import { sha256File } from '../hash-file.js';
import type { HashedFile } from './boot-folder.js';
import { partialPath } from '../../output/leftovers.js';

export async function runtimeArchive(runtime: string, cacheDir: string): Promise<HashedFile> {
  const dir = join(cacheDir, 'node-runtime', 'archives');
  const path = join(dir, `${await sha256File(runtime)}.gz`);
  if (!(await stat(path).then((s) => s.isFile(), () => false))) {
    await mkdir(dir, { recursive: true });
    const partial = partialPath(path);
    try {
      // Level 9: the archive is made once and read on every card; 45 MB for Node 22's arm64 binary.
      await pipeline(createReadStream(runtime), createGzip({ level: constants.Z_BEST_COMPRESSION }), createWriteStream(partial));
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }
  return { path, sha256: await sha256File(path) };
}
