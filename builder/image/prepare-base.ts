// The prepared base: the raw base read once for its layout, and its system-boot partition copied
// into a file of its own with our folder written into it. Made once per build; every node then
// reads the untouched base once, with its own copy of that partition (plus its seed) spliced in.
import { open, rm, stat } from 'node:fs/promises';
import type { CommandRunner } from '../command-runner.js';
import type { BootFile } from './boot-folder.js';
import { ImageLayoutError } from './errors.js';
import { removeFatFolders, writeFatFiles } from './fat-files.js';
import { fatBytesFor, fatFreeBytes, fatGeometry } from './fat-space.js';
import { readImageLayout, RASPI_LABELS, type ExpectedLabels } from './layout.js';
import { BufferPool, readSegments, recycling } from './read-segments.js';
import { writeSparse } from './sparse-writer.js';

export interface InjectedFile { readonly partition: 'system-boot'; readonly path: string; readonly sha256: string }

export interface PreparedBase {
  /** The raw base itself: nothing outside system-boot ever changes. */
  readonly path: string;
  readonly bytes: number;
  /** Its system-boot partition with our folder, in a file of its own: each node's seed goes into a copy of that. */
  readonly boot: { readonly path: string; readonly offset: number; readonly bytes: number };
  readonly injected: readonly InjectedFile[];
}

/** Writes `bootPath` (which must not exist yet). On failure, removes it. */
export async function prepareBase(options: {
  run: CommandRunner; rawBase: string; folder: readonly BootFile[]; bootPath: string; labels?: ExpectedLabels;
}): Promise<PreparedBase> {
  const { run, rawBase, folder, bootPath } = options;
  const layout = await readImageLayout(rawBase, options.labels ?? RASPI_LABELS);
  try {
    const boot = { path: bootPath, offset: layout.boot.offset, bytes: layout.boot.bytes };
    const pool = new BufferPool(4 * 1024 * 1024);
    await writeSparse(recycling(readSegments([{ path: rawBase, from: boot.offset, bytes: boot.bytes }], pool.size, pool), pool), bootPath, 0o600);
    await removeFatFolders(run, bootPath, 0, folder); // an earlier build's folder is replaced whole
    await ensureRoom(rawBase, bootPath, folder);
    await writeFatFiles(run, bootPath, 0, folder);
    const injected = folder.map((f) => ({ partition: 'system-boot' as const, path: `/${f.name}`, sha256: f.sha256 }));
    return { path: rawBase, bytes: layout.size, boot, injected };
  } catch (error) {
    await rm(bootPath, { force: true });
    throw error;
  }
}

const SEED_ALLOWANCE = 256 * 1024; // each node's three seed files, written after the folder
const MB = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Refuses, naming the bytes, a system-boot without room for the folder (and the seed after it). */
async function ensureRoom(rawBase: string, bootPath: string, folder: readonly BootFile[]): Promise<void> {
  const file = await open(bootPath, 'r');
  try {
    const sector = Buffer.alloc(512);
    await file.read(sector, 0, 512, 0);
    const geometry = fatGeometry(sector);
    if (!geometry) throw new ImageLayoutError(rawBase, 'its system-boot partition is not FAT16 or FAT32', 'Use an Ubuntu Server preinstalled image for Raspberry Pi.');
    const sizes = await Promise.all(folder.map(async (f) => (f.source !== undefined ? (await stat(f.source)).size : Buffer.byteLength(f.content))));
    const needed = fatBytesFor(sizes, geometry.clusterBytes) + SEED_ALLOWANCE;
    const free = await fatFreeBytes(file, 0, geometry);
    if (needed > free) throw new ImageLayoutError(rawBase, `its system-boot partition has ${MB(free)} free, and the first-boot folder with the seed needs ${MB(needed)}`,
      `Remove ${MB(needed - free)} or more from it (old kernels or initrds, files you added), or use a base with a larger boot partition.`);
  } finally {
    await file.close();
  }
}
