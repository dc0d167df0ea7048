// Outputs appear whole or not at all: write into a temporary sibling, then rename into place.
import { chmod, copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { partialPath } from './leftovers.js';

/** `name` may hold `/`-separated folders; content given, or copied from `source`. */
export type OutputFile = { readonly name: string; readonly mode: number }
  & ({ readonly content: string; readonly source?: undefined } | { readonly source: string; readonly content?: undefined });

/** Replaces `dir` with a directory holding exactly `files`; a crash leaves the old one or none. */
export async function publishDirectory(dir: string, files: readonly OutputFile[], dirMode = 0o700): Promise<void> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const staging = await mkdtemp(`${partialPath(join(parent, `.${basename(dir)}`))}-`);
  try {
    for (const file of files) {
      const path = join(staging, ...file.name.split('/'));
      await mkdir(dirname(path), { recursive: true, mode: dirMode });
      if (file.source !== undefined) {
        await copyFile(file.source, path, 1 /* COPYFILE_EXCL */);
        await chmod(path, file.mode);
      } else {
        await writeFile(path, file.content, { mode: file.mode, flag: 'wx' });
      }
    }
    await chmod(staging, dirMode);
    const retired = `${staging}.old`;
    const hadOld = await rename(dir, retired).then(() => true, (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    });
    await rename(staging, dir);
    if (hadOld) await rm(retired, { recursive: true, force: true });
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}
