// Compressed images from independently compressed 16 MiB chunks: one xz stream or zstd frame
// per chunk, concatenated (xz, zstd and libarchive decode such files as one). Chunks are
// cached by the SHA-256 of their raw bytes, so a node's image recompresses only the chunks
// that differ from what an earlier node or build already compressed: its seed's few MiB.
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { CommandFailed } from '../command-runner.js';
import { partialPath } from '../output/leftovers.js';
import { readSegments } from './read-segments.js';

export const CHUNK_BYTES = 16 * 1024 * 1024;
const PARALLEL = 2;

export type ChunkedCompression = 'xz' | 'zst';

// Single-threaded per chunk, fixed settings: a chunk always compresses to the same bytes.
const COMPRESSOR: Record<ChunkedCompression, [string, string[]]> = {
  xz: ['xz', ['--compress', '--stdout', '-6', '--threads=1', '--check=crc64']],
  zst: ['zstd', ['--compress', '--stdout', '-3', '-T1', '-q', '--no-progress']],
};

export interface ChunkedResult {
  readonly rawSha256: string;
  readonly rawBytes: number;
  readonly sha256: string;
  readonly bytes: number;
  /** Chunks compressed in this call (the rest came from the cache). */
  readonly compressedChunks: number;
  readonly chunks: number;
}

async function compressChunk(data: Buffer, compression: ChunkedCompression): Promise<Buffer> {
  const [file, args] = COMPRESSOR[compression];
  const r = await execa(file, args, { input: data, encoding: 'buffer', reject: false });
  if (r.exitCode !== 0) throw new CommandFailed(file, r.exitCode, Buffer.from(r.stderr).toString());
  return Buffer.from(r.stdout);
}

/**
 * Reads the raw image once (a file, or its bytes in CHUNK_BYTES pieces): hashes it whole and per
 * chunk, and writes `out` from cached or new chunks.
 */
export async function compressChunked(raw: string | AsyncIterable<Buffer>, out: string, compression: ChunkedCompression,
  cacheDir: string): Promise<ChunkedResult> {
  const dir = join(cacheDir, 'chunks', compression);
  await mkdir(dir, { recursive: true });
  const pieces = typeof raw === 'string' ? readSegments([{ path: raw, from: 0, bytes: (await stat(raw)).size }], CHUNK_BYTES) : raw;
  const output = await open(out, 'w', 0o600);
  const rawHash = createHash('sha256');
  const outHash = createHash('sha256');
  let rawBytes = 0;
  let bytes = 0;
  let chunks = 0;
  let compressedChunks = 0;
  // Chunks to compress run two at a time (one per core) while output stays in chunk order.
  const pending: Promise<Buffer>[] = [];
  const writeNext = async () => {
    const compressed = await pending.shift()!;
    await output.write(compressed, 0, compressed.length, bytes);
    outHash.update(compressed);
    bytes += compressed.length;
  };
  try {
    for await (const data of pieces) {
      rawHash.update(data);
      rawBytes += data.length;
      chunks++;
      const cached = join(dir, `${createHash('sha256').update(data).digest('hex')}.${compression}`);
      const hit = await readFile(cached).catch(() => undefined);
      if (hit === undefined) compressedChunks++;
      const next = hit !== undefined ? Promise.resolve(hit) : compressChunk(data, compression).then(async (fresh) => {
        const partial = partialPath(cached);
        await writeFile(partial, fresh);
        await rename(partial, cached);
        return fresh;
      });
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
