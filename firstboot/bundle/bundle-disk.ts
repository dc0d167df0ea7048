// Where a node keeps the bundle's files: streamed in, synced, renamed into place only once
// checked, and kept after the install (the node serves them to its peers). The real disk under
// BUNDLE_DIR on a Pi; tests and the simulation give a folder of their own.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BundleDisk } from '../run/types.js';

export const BUNDLE_DIR = '/var/lib/microcloud-pi/bundle';

export function localBundleDisk(dir: string = BUNDLE_DIR): BundleDisk {
  const at = (name: string) => join(dir, name);
  const made = mkdir(dir, { recursive: true, mode: 0o755 });
  return {
    dir,
    size: (name) => stat(at(name)).then((s) => (s.isFile() ? s.size : undefined), () => undefined),
    readText: (name) => readFile(at(name), 'utf8').catch(() => undefined),
    async hashOf(name, algorithm) {
      const hash = createHash(algorithm);
      const exists = await stat(at(name)).then(() => true, () => false);
      if (exists) for await (const chunk of createReadStream(at(name))) hash.update(chunk as Buffer);
      return hash;
    },
    async writer(name, fresh) {
      await made;
      const handle = await open(at(name), fresh ? 'w' : 'a', 0o644);
      return {
        write: async (chunk) => { await handle.write(chunk); },
        close: async () => { try { await handle.sync(); } finally { await handle.close(); } },
      };
    },
    async writeWhole(name, content) {
      await made;
      const partial = at(`${name}.partial`);
      const handle = await open(partial, 'w', 0o644);
      try {
        await handle.writeFile(content);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(partial, at(name));
    },
    rename: async (from, to) => { await rename(at(from), at(to)); },
    remove: (name) => rm(at(name), { force: true }),
  };
}
