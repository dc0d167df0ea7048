// The body of one compression worker thread (chunk-workers.ts starts one per core): takes a raw
// chunk, writes its compressed bytes to the file named, and hands the chunk's memory back.
import { parentPort } from 'node:worker_threads';
import { compressChunk, compressWithXzProgram, type ChunkedCompression } from '../../codecs.js';

/** One chunk to compress: its bytes (transferred, not copied) and where its compressed bytes go. */
export interface ChunkJob {
  readonly compression: ChunkedCompression;
  /** xz only: the xz program instead of a liblzma binding (the same bytes). */
  readonly xzProgram: boolean;
  readonly buffer: ArrayBuffer;
  readonly length: number;
  readonly dest: string;
}

/** The job's memory back to its owner, and how it ended. */
export interface ChunkDone {
  readonly buffer: ArrayBuffer;
  readonly error?: { name: string; message: string; stack?: string; command?: string; exitCode?: number; stderr?: string };
}

parentPort!.on('message', (job: ChunkJob) => {
  const data = Buffer.from(job.buffer, 0, job.length);
  const work = job.compression === 'xz' && job.xzProgram ? compressWithXzProgram(data, job.dest) : compressChunk(data, job.compression, job.dest);
  work.then(() => parentPort!.postMessage({ buffer: job.buffer } satisfies ChunkDone, [job.buffer]), (error: unknown) => {
    const e = error instanceof Error ? error : new Error(String(error));
    const { command, exitCode, stderr } = e as { command?: string; exitCode?: number; stderr?: string };
    parentPort!.postMessage({ buffer: job.buffer,
      error: { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}), ...(command !== undefined ? { command, exitCode, stderr } : {}) } } satisfies ChunkDone,
    [job.buffer]);
  });
});
