// One node's SD-card image: copy the prepared base, write the node's seed into `system-boot`,
// hash, optionally compress, publish under the final name only when complete.
import { chmod, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Seed } from '../render/seed.js';
import { SEED_FILES } from '../render/seed.js';
import type { CommandRunner } from './command-runner.js';
import { compressChunked } from './chunked-compress.js';
import { compressFile, type Compression } from './compress-image.js';
import { copyImage } from './copy-image.js';
import { writeFatFiles } from './fat-files.js';
import { sha256File, sha256Hex } from './hash-file.js';
import { readImageLayout, RASPI_LABELS, type ExpectedLabels } from './layout.js';
import type { InjectedFile, PreparedBase } from './prepare-base.js';
import { partialPath } from '../output/leftovers.js';

export interface NodeImage {
  readonly node: string;
  /** The file written: the raw image, or the compressed one. */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  /** The raw image's size and hash, when `path` is compressed (what a flasher writes). */
  readonly raw?: { readonly bytes: number; readonly sha256: string };
  readonly grownBytes: number;
  readonly injected: readonly InjectedFile[];
  readonly seconds: { copy: number; inject: number; hash: number; compress: number };
}

export async function buildNodeImage(options: {
  run: CommandRunner; base: PreparedBase; node: string; seed: Seed; out: string;
  compression?: Compression; labels?: ExpectedLabels; now?: () => number;
  /** Where compressed chunks are cached; without it a compressed image is compressed whole. */
  chunkCacheDir?: string;
}): Promise<NodeImage> {
  const { run, base, node, seed, out } = options;
  const now = options.now ?? (() => performance.now() / 1000);
  const partial = partialPath(join(dirname(out), `.${basename(out)}`));
  const compressedPartial = `${partial}.compressed`;
  try {
    let t = now();
    await copyImage(run, base.path, partial);
    await chmod(partial, 0o600); // user-data inside carries the join passphrase
    const copySeconds = now() - t;
    t = now();
    const layout = await readImageLayout(partial, options.labels ?? RASPI_LABELS);
    await writeFatFiles(run, partial, layout.boot, SEED_FILES.map((name) => ({ name, content: seed[name] })));
    const injectSeconds = now() - t;
    const injected: InjectedFile[] = [
      ...SEED_FILES.map((name) => ({ partition: 'system-boot' as const, path: `/${name}`, sha256: sha256Hex(seed[name]) })),
      ...base.injected,
    ];
    const common = { node, path: out, grownBytes: base.grownBytes, injected };
    const compression = options.compression ?? 'none';
    if (compression !== 'none' && options.chunkCacheDir) {
      // One read of the image: its hash, its chunks' hashes, and the output from cached chunks.
      t = now();
      const r = await compressChunked(partial, compressedPartial, compression, options.chunkCacheDir);
      await rm(partial, { force: true });
      await rename(compressedPartial, out);
      return { ...common, bytes: r.bytes, sha256: r.sha256, raw: { bytes: r.rawBytes, sha256: r.rawSha256 },
        seconds: { copy: copySeconds, inject: injectSeconds, hash: 0, compress: now() - t } };
    }
    t = now();
    const rawSha256 = await sha256File(partial);
    const hashSeconds = now() - t;
    const rawBytes = (await stat(partial)).size;
    if (compression === 'none') {
      await rename(partial, out);
      return { ...common, bytes: rawBytes, sha256: rawSha256,
        seconds: { copy: copySeconds, inject: injectSeconds, hash: hashSeconds, compress: 0 } };
    }
    t = now();
    await compressFile(partial, compressedPartial, compression);
    await rm(partial, { force: true });
    const compressedSha256 = await sha256File(compressedPartial);
    const bytes = (await stat(compressedPartial)).size;
    await rename(compressedPartial, out);
    return { ...common, bytes, sha256: compressedSha256, raw: { bytes: rawBytes, sha256: rawSha256 },
      seconds: { copy: copySeconds, inject: injectSeconds, hash: hashSeconds, compress: now() - t } };
  } catch (error) {
    await rm(partial, { force: true });
    await rm(compressedPartial, { force: true });
    throw error;
  }
}
