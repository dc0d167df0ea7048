// One node's SD-card image: the node's seed goes into a copy of the prepared base's system-boot
// partition; then one read of the base with that partition spliced in writes the image (sparse)
// and hashes it, or compresses it from cached chunks. Published under the final name only when
// complete.
import { createHash } from 'node:crypto';
import { chmod, constants, copyFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Seed } from '../render/seed.js';
import { SEED_FILES } from '../render/seed.js';
import { CHUNK_BYTES, compressChunked } from './chunked-compress.js';
import { compressFile, type Compression } from './compress-image.js';
import { writeFatFiles } from './fat-files.js';
import { hashing, sha256File, sha256Hex } from './hash-file.js';
import type { InjectedFile, PreparedBase } from './prepare-base.js';
import { BufferPool, readSegments, recycling, splicedImage } from './read-segments.js';
import { writeSparse } from './sparse-writer.js';
import { partialPath } from '../output/leftovers.js';

export interface NodeImage {
  readonly node: string;
  /** The file written: the raw image, or the compressed one. */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  /** The raw image's size and hash, when `path` is compressed (what a flasher writes). */
  readonly raw?: { readonly bytes: number; readonly sha256: string };
  readonly injected: readonly InjectedFile[];
  /** Seed into its system-boot; the one read of the image (written and hashed, or compressed); a whole-file compression. */
  readonly seconds: { seed: number; write: number; compress: number };
}

export async function buildNodeImage(options: {
  base: PreparedBase; node: string; seed: Seed; out: string;
  compression?: Compression; now?: () => number;
  /** Where compressed chunks are cached; without it a compressed image is compressed whole. */
  chunkCacheDir?: string;
}): Promise<NodeImage> {
  const { base, node, seed, out } = options;
  const now = options.now ?? (() => performance.now() / 1000);
  const partial = partialPath(join(dirname(out), `.${basename(out)}`));
  const bootPartial = `${partial}.system-boot`;
  const compressedPartial = `${partial}.compressed`;
  try {
    let t = now();
    await copyFile(base.boot.path, bootPartial, constants.COPYFILE_FICLONE); // a clone where the filesystem has them
    await chmod(bootPartial, 0o600); // user-data inside carries the join passphrase
    await writeFatFiles(bootPartial, 0, SEED_FILES.map((name) => ({ name, content: seed[name] })));
    const seedSeconds = now() - t;
    const injected: InjectedFile[] = [
      ...SEED_FILES.map((name) => ({ partition: 'system-boot' as const, path: `/${name}`, sha256: sha256Hex(seed[name]) })),
      ...base.injected,
    ];
    const common = { node, path: out, injected };
    const pool = new BufferPool(CHUNK_BYTES);
    const image = readSegments(splicedImage({ path: base.path, size: base.bytes }, { ...base.boot, path: bootPartial }), CHUNK_BYTES, pool);
    const compression = options.compression ?? 'none';
    t = now();
    if (compression !== 'none' && options.chunkCacheDir) {
      // Its hash, its chunks' hashes, and the output from cached chunks, in the one read.
      const r = await compressChunked(image, compressedPartial, compression, options.chunkCacheDir, pool);
      await rename(compressedPartial, out);
      return { ...common, bytes: r.bytes, sha256: r.sha256, raw: { bytes: r.rawBytes, sha256: r.rawSha256 },
        seconds: { seed: seedSeconds, write: now() - t, compress: 0 } };
    }
    const hash = createHash('sha256');
    const rawBytes = await writeSparse(recycling(hashing(image, hash), pool), partial, 0o600);
    const rawSha256 = hash.digest('hex');
    const writeSeconds = now() - t;
    if (compression === 'none') {
      await rename(partial, out);
      return { ...common, bytes: rawBytes, sha256: rawSha256, seconds: { seed: seedSeconds, write: writeSeconds, compress: 0 } };
    }
    t = now();
    await compressFile(partial, compressedPartial, compression);
    await rm(partial, { force: true });
    const compressedSha256 = await sha256File(compressedPartial);
    const bytes = (await stat(compressedPartial)).size;
    await rename(compressedPartial, out);
    return { ...common, bytes, sha256: compressedSha256, raw: { bytes: rawBytes, sha256: rawSha256 },
      seconds: { seed: seedSeconds, write: writeSeconds, compress: now() - t } };
  } catch (error) {
    await rm(partial, { force: true });
    await rm(compressedPartial, { force: true });
    throw error;
  } finally {
    await rm(bootPartial, { force: true });
  }
}
