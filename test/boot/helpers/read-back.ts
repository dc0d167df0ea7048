// Reads a powered-off guest's card from outside, as the oracles do everywhere else: the whole FAT
// boot partition with mtools, a folder of the root filesystem with debugfs (no mount, no root).
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { readImageLayout } from '../../../builder/image/base/layout.js';

/** Copies the boot partition and `rootFolders` of `image` into `dir`; returns every file copied, with its bytes. */
export async function readBack(image: string, dir: string, rootFolders: readonly string[]): Promise<Map<string, Buffer>> {
  const { boot, root } = await readImageLayout(image);
  await mkdir(join(dir, 'boot'), { recursive: true });
  await execa('mcopy', ['-s', '-n', '-i', `${image}@@${boot.offset}`, '::*', join(dir, 'boot')], { env: { MTOOLS_SKIP_CHECK: '1' } });
  for (const folder of rootFolders) {
    const into = join(dir, 'root', dirname(folder)); // rdump writes the folder itself into this one
    await mkdir(into, { recursive: true });
    const ran = await execa('debugfs', ['-R', `rdump ${folder} ${into}`, `${image}?offset=${root.offset}`], { reject: false });
    if (ran.exitCode !== 0 || /rdump: .*not found/i.test(ran.stderr)) throw new Error(`debugfs could not read ${folder}: ${ran.stderr}`);
  }
  const files = new Map<string, Buffer>();
  const walk = async (at: string): Promise<void> => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.set(path.slice(dir.length), await readFile(path));
    }
  };
  await walk(dir);
  return files;
}
