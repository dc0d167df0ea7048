// Writes files into a FAT filesystem inside a file (at `offset`: 0 for a partition on its own),
// in process (volume.ts): no mtools, no root, no loop, the same on every OS. A top-level
// folder among the files replaces the one on the volume whole (what an earlier build left there
// must not mix with this build's).
import { open, stat } from 'node:fs/promises';
import { fatBytesFor } from './geometry.js';
import { FatVolume, type Placement } from './volume.js';

/** `name` is relative to the FAT root, `/`-separated; content given, or copied from `source`. */
export type FatFile = { readonly name: string } & ({ readonly content: string | Uint8Array } | { readonly source: string });

const topFolders = (files: readonly FatFile[]) => [...new Set(files.filter((f) => f.name.includes('/')).map((f) => f.name.split('/')[0]!))];

/** The volume lacks room for the files (after an earlier copy of their folder was removed). */
export class FatRoomError extends Error {
  override name = 'FatRoomError';
  constructor(readonly freeBytes: number, readonly neededBytes: number) {
    super(`${neededBytes} bytes needed, ${freeBytes} free`);
  }
}

/**
 * Writes `files`, replacing their top-level folders whole. With `keepFreeBytes`, first checks that
 * the files fit with that much left over (for what is written after them), and writes nothing if not.
 * `placement` 'high' puts them near the end of the volume (see base/prepare-base.ts for why).
 */
export async function writeFatFiles(image: string, offset: number, files: readonly FatFile[],
  options: { keepFreeBytes?: number; placement?: Placement } = {}): Promise<void> {
  const volume = await FatVolume.open(image, offset, options.placement);
  try {
    for (const folder of topFolders(files)) await volume.remove(folder);
    if (options.keepFreeBytes !== undefined) {
      const sizes = await Promise.all(files.map(async (f) => ('source' in f ? (await stat(f.source)).size : Buffer.byteLength(f.content))));
      const needed = fatBytesFor(sizes, volume.geometry.clusterBytes) + options.keepFreeBytes;
      if (needed > volume.freeBytes) throw new FatRoomError(volume.freeBytes, needed);
    }
    for (const file of files) {
      if (!('source' in file)) {
        await volume.writeFile(file.name, { bytes: typeof file.content === 'string' ? Buffer.from(file.content) : file.content });
        continue;
      }
      const source = await open(file.source, 'r');
      try {
        await volume.writeFile(file.name, { source, size: (await source.stat()).size });
      } finally {
        await source.close();
      }
    }
  } finally {
    await volume.close();
  }
}
