// Compressed images from independently compressed 16 MiB chunks: one xz stream or zstd frame
// per chunk, concatenated (xz, zstd and libarchive decode such files as one). Chunks are
// cached by the SHA-256 of their raw bytes, so a node's image recompresses only the chunks
// that differ from what an earlier node or build already compressed: its seed's few MiB.
import { createHash } from 'node:crypto';
import { access, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compressChunk, type ChunkedCompression } from './codecs.js';
import { partialPath } from '../output/leftovers.js';
import { BufferPool, readSegments, type Segment } from './read-segments.js';

export const CHUNK_BYTES = 16 * 1024 * 1024;
const PARALLEL = 2;

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

/**
 * Reads the raw image once (a file, or the byte ranges of files that make it up): hashes it whole
 * and per chunk, and writes `out` from cached or new chunks.
 */
export async function compressChunked(raw: string | readonly Segment[], out: string, compression: ChunkedCompression,
  cacheDir: string): Promise<ChunkedResult> {
  const dir = join(cacheDir, 'chunks', CACHE_FOLDER[compression]);
  await mkdir(dir, { recursive: true });
  const own = new BufferPool(CHUNK_BYTES);
  const segments = typeof raw === 'string' ? [{ path: raw, from: 0, bytes: (await stat(raw)).size }] : raw;
  const pieces = readSegments(segments, CHUNK_BYTES, own);
  const output = await open(out, 'w', 0o600);
  const rawHash = createHash('sha256');
  const outHash = createHash('sha256');
  let rawBytes = 0;
  let bytes = 0;
  let chunks = 0;
  let compressedChunks = 0;
  // Chunks to compress run two at a time (one per core) while output stays in chunk order. Each
  // pending entry is the cached file of its chunk: no compressed output is held in memory.
  const pending: Promise<string>[] = [];
  const copy = Buffer.allocUnsafeSlow(1024 * 1024);
  const writeNext = async () => {
    const chunk = await open(await pending.shift()!, 'r');
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
  };
  try {
    for await (const data of pieces) {
      rawHash.update(data);
      rawBytes += data.length;
      chunks++;
      const cached = join(dir, `${createHash('sha256').update(data).digest('hex')}.${compression}`);
      const hit = await access(cached).then(() => true, () => false);
      if (!hit) compressedChunks++;
      if (hit) own.give(data);
      const next = hit ? Promise.resolve(cached) : (async () => {
        const partial = partialPath(cached);
        try {
          await compressChunk(data, compression, partial);
          await rename(partial, cached);
        } catch (error) {
          await rm(partial, { force: true });
          throw error;
        } finally {
          own.give(data);
        }
        return cached;
      })();
      next.catch(() => {}); // its failure is taken when its turn comes, not as an unhandled rejection
      pending.push(next);
      if (pending.length >= PARALLEL) await writeNext();
    }
    while (pending.length) await writeNext();
  } catch (error) {
    await Promise.allSettled(pending);
    await output.close();
    await rm(out, { force: true });
    throw error;
  }
  await output.close();
  return { rawSha256: rawHash.digest('hex'), rawBytes, sha256: outHash.digest('hex'), bytes, compressedChunks, chunks };
}
