// The paths a build is given, checked before anything is written (the secrets file included):
// a file where a folder goes, a folder where a file goes, or nothing at all, each said with the
// option that named it and what to give instead (exit 2), never as an unexpected EEXIST/EISDIR.
import { readdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';

const statOf = (path: string) => stat(path).catch((error: NodeJS.ErrnoException) => {
  if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
  throw new UsageError(`${path} cannot be read (${error.code}): check its permissions.`, { cause: error });
});

/** --out: a folder, or a path where one can be made. */
export async function checkOutFolder(out: string, option = '--out'): Promise<void> {
  const here = await statOf(out);
  if (here && !here.isDirectory())
    throw new UsageError(`${option} ${out} is a file, not a folder. Give a folder to write into (it is created when missing), `
      + `or move the file away.`);
  if (here) return;
  // The nearest part of the path that exists must be a folder, or nothing can be made under it.
  for (let parent = dirname(resolve(out)); ; parent = dirname(parent)) {
    const above = await statOf(parent);
    if (above && !above.isDirectory())
      throw new UsageError(`${option} ${out} cannot be made: ${parent} is a file, not a folder. Give a folder elsewhere.`);
    if (above || parent === dirname(parent)) return;
  }
}

/** An input file (--base-image, --node-runtime): there, and a file; a folder gets the files in it that fit named. */
export async function checkInputFile(option: string, path: string, what: string, fits: RegExp, instead: string): Promise<void> {
  const info = await statOf(path);
  if (!info) throw new UsageError(`${option} ${path} does not exist. Give the path of ${what}${instead ? `, ${instead}` : ''}.`);
  if (info.isDirectory()) {
    const inside = (await readdir(path).catch(() => [] as string[])).filter((name) => fits.test(name)).sort();
    throw new UsageError(`${option} ${path} is a folder, not a file. Give the path of ${what}`
      + (inside.length ? `: in that folder, ${inside.slice(0, 5).map((n) => `${option} ${resolve(path, n)}`).join(' or ')}.` : '.'));
  }
}
