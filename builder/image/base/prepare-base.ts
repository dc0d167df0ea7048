// The prepared base, made once per build: the raw base's layout, its system-boot partition
// copied into a file of its own with our folder written into it, and (when a raw image first
// asks) where the base's data lies. Every node's image is then a copy of the untouched base with that partition over it.
import { open, rm, type FileHandle } from 'node:fs/promises';
import type { BootFile } from '../fat/boot-folder.js';
import { ImageLayoutError } from '../errors.js';
import { FatRoomError, writeFatFiles } from '../fat/write-files.js';
import { FatError } from '../fat/volume.js';
import { copyRange, dataExtents, type Extent } from './extents.js';
import { readImageLayout, RASPI_LABELS, type ExpectedLabels } from './layout.js';

export interface InjectedFile { readonly partition: 'system-boot'; readonly path: string; readonly sha256: string }

export interface PreparedBase {
  /** The raw base itself: nothing outside system-boot ever changes. */
  readonly path: string;
  readonly bytes: number;
  /** Its system-boot partition with our folder, in a file of its own: each node's seed goes into a copy of that. */
  readonly boot: { readonly path: string; readonly offset: number; readonly bytes: number };
  /** Where the base holds data (the rest is zeros): what a node's copy reads and writes. Found by one read of the base, on first call. */
  readonly extents: () => Promise<readonly Extent[]>;
  readonly injected: readonly InjectedFile[];
}

/** Writes `bootPath` (which must not exist yet). On failure, removes it. */
export async function prepareBase(options: {
  rawBase: string; folder: readonly BootFile[]; bootPath: string; labels?: ExpectedLabels;
}): Promise<PreparedBase> {
  const { rawBase, folder, bootPath } = options;
  const layout = await readImageLayout(rawBase, options.labels ?? RASPI_LABELS);
  try {
    const boot = { path: bootPath, offset: layout.boot.offset, bytes: layout.boot.bytes };
    const copy = await open(bootPath, 'w', 0o600);
    try {
      await copy.truncate(boot.bytes);
      await withFile(rawBase, (source) => copyRange(source, boot.offset, boot.offset + boot.bytes, { target: copy, targetOffset: 0 }));
    } finally {
      await copy.close();
    }
    // An earlier build's folder is replaced whole; nothing is written unless it all fits. It goes
    // to the end of the free space: each node's seed then takes the first free clusters, near the
    // FAT and the root folder that its write changes too, so a node's image differs from its
    // neighbour's in one 16 MiB chunk at the partition's start (which a compressed image
    // recompresses), not in a chunk full of the runtime's archive.
    await writeFatFiles(bootPath, 0, folder, { keepFreeBytes: SEED_ALLOWANCE, placement: 'high' }).catch((error: unknown) => { throw explained(rawBase, error); });
    const injected = folder.map((f) => ({ partition: 'system-boot' as const, path: `/${f.name}`, sha256: f.sha256 }));
    // A whole read of the base, made only when a raw image first needs it (a compressed image reads the whole base anyway).
    let extents: Promise<readonly Extent[]> | undefined;
    const dataOfBase = () => (extents ??= withFile(rawBase, (source) => dataExtents(source, 0, layout.size)));
    return { path: rawBase, bytes: layout.size, boot, extents: dataOfBase, injected };
  } catch (error) {
    await rm(bootPath, { force: true });
    throw error;
  }
}

async function withFile<T>(path: string, use: (file: FileHandle) => Promise<T>): Promise<T> {
  const file = await open(path, 'r');
  try {
    return await use(file);
  } finally {
    await file.close();
  }
}

const SEED_ALLOWANCE = 256 * 1024; // each node's three seed files, written after the folder
const MB = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** What a base's system-boot that cannot take the folder means to the user. */
function explained(rawBase: string, error: unknown): unknown {
  if (error instanceof FatRoomError) return new ImageLayoutError(rawBase,
    `its system-boot partition has ${MB(error.freeBytes)} free, and the first-boot folder with the seed needs ${MB(error.neededBytes)}`,
    `Remove ${MB(error.neededBytes - error.freeBytes)} or more from it (old kernels or initrds, files you added), or use a base with a larger boot partition.`);
  if (error instanceof FatError) return new ImageLayoutError(rawBase, `its system-boot partition cannot be written: ${error.message}`,
    'Use an Ubuntu Server preinstalled image for Raspberry Pi (FAT32 system-boot), or check this one with fsck.fat.');
  return error;
}
