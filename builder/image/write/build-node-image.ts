// One node's SD-card image: a copy of the base (a clone where the filesystem makes them, else
// its data extents, holes kept) with the prepared system-boot partition over the base's, the
// node's seed written into that, and one hashing pass, which on a copy is the copy itself. A
// compressed image is made from cached chunks by one read of the base with the node's own
// system-boot in its place: no raw image is written for it. Published under the final name
// only when complete.
import { createHash, type Hash } from 'node:crypto';
import { constants, copyFile, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Seed } from '../../render/seed.js';
import { SEED_FILES } from '../../render/seed.js';
import { compressChunked } from './compress/chunked-compress.js';
import type { Compression } from './compress/compression.js';
import { copyRange } from '../base/extents.js';
import { writeFatFiles } from '../fat/write-files.js';
import { sha256Hex } from '../hash-file.js';
import type { InjectedFile, PreparedBase } from '../base/prepare-base.js';
import type { OnProgress } from '../progress.js';
import { partialPath } from '../../output/leftovers.js';

export interface NodeImage {
  readonly node: string;
  /** The file written: the raw image, or the compressed one. */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  /** The raw image's size and hash, when `path` is compressed (what a flasher writes). */
  readonly raw?: { readonly bytes: number; readonly sha256: string };
  readonly injected: readonly InjectedFile[];
  /** The raw image (copy, seed, hash); or the compressed one (one read, from chunks). */
  readonly seconds: { write: number; compress: number };
}

/** Makes `to` a copy-on-write clone of `from`; false where the filesystem cannot (ext4, NTFS, ...). */
export type Cloner = (from: string, to: string) => Promise<boolean>;

export const cloneFile: Cloner = (from, to) =>
  copyFile(from, to, constants.COPYFILE_FICLONE_FORCE).then(() => true, () => false);

/** The prepared system-boot with the node's seed, in a file of its own (sparse), for a compressed image's one read. */
async function seededBoot(base: PreparedBase, seed: Seed, path: string): Promise<void> {
  const boot = await open(base.boot.path, 'r');
  const target = await open(path, 'w', 0o600); // user-data carries the join passphrase
  try {
    await target.truncate(base.boot.bytes);
    await copyRange(boot, 0, base.boot.bytes, { target });
  } finally {
    await Promise.all([boot.close(), target.close()]);
  }
  await writeSeed(path, 0, seed);
}

const writeSeed = (image: string, offset: number, seed: Seed) =>
  writeFatFiles(image, offset, SEED_FILES.map((name) => ({ name, content: seed[name] })));

/**
 * Writes the node's raw image to `path`: a clone or a sparse copy of the base, the prepared
 * system-boot over it, the seed into that; adds the image to `hash` in the same pass.
 */
async function writeRawImage(base: PreparedBase, seed: Seed, path: string, clone: Cloner, hash: Hash): Promise<void> {
  const bootEnd = base.boot.offset + base.boot.bytes;
  const extents = await base.extents();
  const cloned = await clone(base.path, path);
  const target = await open(path, cloned ? 'r+' : 'w+', 0o600);
  const source = await open(base.path, 'r');
  const boot = await open(base.boot.path, 'r');
  try {
    await target.chmod(0o600); // user-data carries the join passphrase; a clone has the base's mode
    if (!cloned) {
      await target.truncate(base.bytes);
      await copyRange(source, 0, base.boot.offset, { target, extents });
    }
    // The prepared partition whole over a clone (the base's blocks are there); onto a copy, its data.
    await copyRange(boot, 0, base.boot.bytes, { target, targetOffset: base.boot.offset,
      ...(cloned ? { extents: [{ offset: 0, bytes: base.boot.bytes }] } : {}) });
    await writeSeed(path, base.boot.offset, seed);
    await copyRange(target, 0, bootEnd, { hash }); // just written: read from the page cache
    // The rest: copied and hashed in one pass, or, on a clone, only hashed (its zeros from memory).
    await copyRange(cloned ? target : source, bootEnd, base.bytes, { ...(cloned ? {} : { target }), extents, hash });
  } finally {
    await Promise.all([target.close(), source.close(), boot.close()]);
  }
}

export async function buildNodeImage(options: {
  base: PreparedBase; node: string; seed: Seed; out: string;
  compression?: Compression; now?: () => number;
  /** Where compressed chunks are cached; without it every chunk is compressed afresh (--compress-whole). */
  chunkCacheDir?: string;
  clone?: Cloner;
  /** The compression's progress, shown as `progressLabel` (default: the image's file name). */
  onProgress?: OnProgress; progressLabel?: string;
}): Promise<NodeImage> {
  const { base, node, seed, out } = options;
  const now = options.now ?? (() => performance.now() / 1000);
  const partial = partialPath(join(dirname(out), `.${basename(out)}`));
  const compressedPartial = `${partial}.compressed`;
  const compression = options.compression ?? 'none';
  try {
    const injected: InjectedFile[] = [
      ...SEED_FILES.map((name) => ({ partition: 'system-boot' as const, path: `/${name}`, sha256: sha256Hex(seed[name]) })),
      ...base.injected,
    ];
    const common = { node, path: out, injected };
    const t = now();
    if (compression !== 'none') {
      // No raw image is written: one read of the base with the node's own system-boot in its
      // place gives the image's hash, its chunks' hashes and the output, from cached chunks (or,
      // compressed whole, from chunks made for it alone and dropped after).
      const bootPartial = `${partial}.system-boot`;
      const ownChunks = options.chunkCacheDir === undefined ? `${partial}.chunks` : undefined;
      try {
        await seededBoot(base, seed, bootPartial);
        const bootEnd = base.boot.offset + base.boot.bytes;
        const segments = [{ path: base.path, from: 0, bytes: base.boot.offset }, { path: bootPartial, from: 0, bytes: base.boot.bytes },
          { path: base.path, from: bootEnd, bytes: base.bytes - bootEnd }].filter((segment) => segment.bytes > 0);
        const r = await compressChunked(segments, compressedPartial, compression, options.chunkCacheDir ?? ownChunks!,
          { label: options.progressLabel ?? basename(out), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
        await rename(compressedPartial, out);
        return { ...common, bytes: r.bytes, sha256: r.sha256, raw: { bytes: r.rawBytes, sha256: r.rawSha256 },
          seconds: { write: 0, compress: now() - t } };
      } finally {
        await rm(bootPartial, { force: true });
        if (ownChunks) await rm(ownChunks, { recursive: true, force: true });
      }
    }
    const hash = createHash('sha256');
    await writeRawImage(base, seed, partial, options.clone ?? cloneFile, hash);
    await rename(partial, out);
    return { ...common, bytes: base.bytes, sha256: hash.digest('hex'), seconds: { write: now() - t, compress: 0 } };
  } catch (error) {
    await rm(partial, { force: true });
    await rm(compressedPartial, { force: true });
    throw error;
  }
}
