// Compressed images from independently compressed 16 MiB chunks: one xz stream or zstd frame
// per chunk, concatenated (xz, zstd and libarchive decode such files as one). Chunks are
// cached by the SHA-256 of their raw bytes, so a node's image recompresses only the chunks
// that differ from what an earlier node or build already compressed: its seed's few MiB.
import { createHash } from 'node:crypto';
import { access, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ChunkWorkers, xzChunkEngine } from './chunk-workers.js';
import type { ChunkedCompression } from '../../codecs.js';
import type { OnProgress } from '../../progress.js';
import { partialPath } from '../../../output/leftovers.js';
import { BufferPool, readSegments, type Segment } from './read-segments.js';

export const CHUNK_BYTES = 16 * 1024 * 1024;
/**
 * Chunks sent to the workers and not yet written, per worker: two keep every worker busy while
 * the output waits, in order, for the oldest. Raw memory held: (2 x workers + 1) x 16 MiB.
 */
const QUEUED_PER_WORKER = 2;

export type { ChunkedCompression };

// Where each format's chunks are cached. zstd chunks written by the zstd program (earlier
// versions) carried a checksum and differ from zstd-wasm's: a folder of their own keeps a build's
// bytes independent of what an older cache holds. xz chunks are the same bytes either way.
const CACHE_FOLDER: Record<ChunkedCompression, string> = { xz: 'xz', zst: 'zst-wasm' };

export interface ChunkedResult {
  readonly rawSha256: string;
  readonly rawBytes: number;
  readonly sha256: string;
  readonly bytes: number;
  /** Chunks compressed in this call (the rest came from the cache). */
  readonly compressedChunks: number;
  readonly chunks: number;
}

export interface ChunkedOptions {
  /** Progress in raw bytes read (step 'compress'), at most every quarter second and once when done. */
  readonly onProgress?: OnProgress;
  /** The name progress shows (default: the output file's). */
  readonly label?: string;
  /** Worker threads (default: one per core, at most MAX_WORKERS). */
  readonly workers?: number;
  readonly now?: () => number;
}

/**
 * Reads the raw image once (a file, or the byte ranges of files that make it up): hashes it whole
 * and per chunk, and writes `out` from cached chunks or chunks compressed on worker threads.
 */
export async function compressChunked(raw: string | readonly Segment[], out: string, compression: ChunkedCompression,
  cacheDir: string, options: ChunkedOptions = {}): Promise<ChunkedResult> {
  const dir = join(cacheDir, 'chunks', CACHE_FOLDER[compression]);
  await mkdir(dir, { recursive: true });
  const own = new BufferPool(CHUNK_BYTES);
  const segments = typeof raw === 'string' ? [{ path: raw, from: 0, bytes: (await stat(raw)).size }] : raw;
  const total = segments.reduce((sum, s) => sum + s.bytes, 0);
  const pieces = readSegments(segments, CHUNK_BYTES, own);
  const workers = new ChunkWorkers({ compression, xzProgram: compression === 'xz' && await xzChunkEngine() === 'xz program', env: process.env,
    ...(options.workers ? { size: options.workers } : {}) });
  const output = await open(out, 'w', 0o600);
  const rawHash = createHash('sha256');
  const outHash = createHash('sha256');
  let rawBytes = 0;
  let bytes = 0;
  let chunks = 0;
  let compressedChunks = 0;
  const now = options.now ?? (() => performance.now());
  const began = now();
  let written = 0; // raw bytes whose compressed chunk is in `out`
  let lastReport = began;
  const report = (done: boolean) => options.onProgress?.({
    step: 'compress', label: options.label ?? out, bytes: written, total, done,
    bytesPerSecond: written / Math.max(0.001, (now() - began) / 1000),
  });
  // Output stays in chunk order. Each pending entry is the cached file of its chunk: no
  // compressed output is held in memory.
  const pending: { file: Promise<string>; raw: number }[] = [];
  const copy = Buffer.allocUnsafeSlow(1024 * 1024);
  const writeNext = async () => {
    const next = pending.shift()!;
    const chunk = await open(await next.file, 'r');
    try {
      for (;;) {
        const { bytesRead } = await chunk.read(copy, 0, copy.length, null);
        if (bytesRead === 0) break;
        await output.write(copy, 0, bytesRead, bytes);
        outHash.update(copy.subarray(0, bytesRead));
        bytes += bytesRead;
      }
    } finally {
      await chunk.close();
    }
    written += next.raw;
    if (now() - lastReport >= 250) {
      lastReport = now();
      report(false);
    }
  };
  try {
    for await (const data of pieces) {
      rawHash.update(data);
      rawBytes += data.length;
      chunks++;
      const cached = join(dir, `${createHash('sha256').update(data).digest('hex')}.${compression}`);
      const length = data.length;
      let file: Promise<string>;
      if (await access(cached).then(() => true, () => false)) {
        own.give(data);
        file = Promise.resolve(cached);
      } else {
        compressedChunks++;
        const partial = partialPath(cached);
        file = workers.compress(data, partial).then(async (memory) => {
          own.give(memory);
          await rename(partial, cached);
          return cached;
        }, async (error: unknown) => {
          await rm(partial, { force: true });
          throw error;
        });
        file.catch(() => {}); // its failure is taken when its turn comes, not as an unhandled rejection
      }
      pending.push({ file, raw: length });
      if (pending.length >= workers.size * QUEUED_PER_WORKER) await writeNext();
    }
    while (pending.length) await writeNext();
  } catch (error) {
    await Promise.allSettled(pending.map((p) => p.file));
    await workers.close();
    await output.close();
    await rm(out, { force: true });
    throw error;
  }
  await workers.close();
  await output.close();
  report(true);
  return { rawSha256: rawHash.digest('hex'), rawBytes, sha256: outHash.digest('hex'), bytes, compressedChunks, chunks };
}
