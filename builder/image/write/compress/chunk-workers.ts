// Compression worker threads, one per core: a chunk goes to an idle worker (started on first
// need) or waits its turn; its memory is transferred there and back, never copied. A worker
// that dies fails every chunk it held or that waits, with the reason: a build never hangs on one.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CommandFailed } from '../../../command-runner.js';
import { compressChunk, xzCompressor, type ChunkedCompression, type XzCompressor } from '../../codecs.js';
import { findProgram } from '../../../host-programs/find-programs.js';
import type { ChunkDone, ChunkJob } from './compress-worker.js';

/**
 * Set to 1: xz chunks are compressed by the xz program where it is on PATH. Where lzma-native is
 * the binding that loads, Debian's liblzma 5.4 takes about 0.6x the CPU time of its prebuilt 5.2.3
 * for the same bytes, but a build needs nothing but Node (system programs are the tests'
 * oracles), so it is the user's choice. node-liblzma is as fast as the program.
 */
export const XZ_PROGRAM_ENV = 'MICROCLOUD_PI_XZ_PROGRAM';

/** Which implementation compresses a build's xz chunks: a liblzma binding, else the xz program (which the build then requires); see XZ_PROGRAM_ENV. */
export async function xzChunkEngine(path = process.env.PATH ?? '', env: Readonly<Record<string, string | undefined>> = process.env):
  Promise<XzCompressor> {
  if (env[XZ_PROGRAM_ENV] === '1' && await findProgram('xz', path)) return 'xz program';
  return xzCompressor();
}

/** A compression worker could not start, crashed or stopped: the build cannot go on. */
export class CompressionWorkerError extends Error {
  override name = 'CompressionWorkerError';
}

/** Workers on a machine with many cores: each may hold liblzma's -6 encoder (94 MiB) and a chunk. */
export const MAX_WORKERS = 8;
export const defaultWorkers = (): number => Math.max(1, Math.min(MAX_WORKERS, availableParallelism()));

export interface WorkerScript {
  readonly url: URL;
  /** JavaScript that starts the worker instead of `url` (it imports `url` itself). */
  readonly bootstrap?: string;
}

/**
 * The worker's file: the compiled compress-worker.js beside this module (dist/, the installed
 * CLI), or, when running the TypeScript sources (tsx, jest), the .ts behind tsx's loader, which
 * a worker must register itself (tsx's --import hooks only the main thread).
 */
export function workerScript(): WorkerScript {
  const js = new URL('./compress-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { url: js };
  const ts = new URL('./compress-worker.ts', import.meta.url);
  // tsx's ESM API as its package.json exports it (require.resolve would give the CommonJS one).
  const tsxManifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const exported = (JSON.parse(readFileSync(tsxManifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api']!;
  const tsxApi = pathToFileURL(join(dirname(tsxManifest), exported.import.default)).href;
  return { url: ts, bootstrap: `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(ts.href)}); })` };
}

interface Task {
  readonly job: ChunkJob;
  readonly resolve: (memory: Buffer) => void;
  readonly reject: (error: Error) => void;
}

export class ChunkWorkers {
  readonly size: number;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly running = new Map<Worker, Task>();
  private readonly queue: Task[] = [];
  private failure?: Error;
  private closing = false;

  /**
   * The liblzma binding on this thread, not on workers: its native work cannot be torn down mid-chunk (a
   * worker ended by Ctrl-C's process.exit aborts the whole process, SIGABRT, and leaves the
   * temporaries), and its async compression already runs on libuv's thread pool, so `size`
   * chunks at once still use the cores.
   */
  private readonly inProcess: boolean;
  private active = 0;
  private readonly slots: (() => void)[] = [];

  constructor(private readonly options: {
    compression: ChunkedCompression; xzProgram?: boolean; size?: number; script?: WorkerScript;
    env?: Record<string, string | undefined>;
  }) {
    this.size = Math.max(1, options.size ?? defaultWorkers());
    this.inProcess = options.compression === 'xz' && !options.xzProgram && !options.script;
  }

  /** Chunks sent and not yet done (running or waiting). */
  get inFlight(): number {
    return this.running.size + this.queue.length + this.active + this.slots.length;
  }

  /**
   * Compresses `data` into the file `dest`. `data`'s memory is handed over (do not touch it
   * meanwhile): the promise gives it back as a Buffer of the same length.
   */
  compress(data: Buffer, dest: string): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.inProcess) return this.compressHere(data, dest);
    // A Buffer that owns its whole ArrayBuffer moves; a view into a shared one (small buffers) is copied.
    const owned = data.byteOffset === 0 && data.buffer.byteLength >= 64 * 1024 && data.buffer instanceof ArrayBuffer;
    const buffer = owned ? data.buffer as ArrayBuffer : new Uint8Array(data).buffer;
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { compression: this.options.compression, xzProgram: this.options.xzProgram ?? false, buffer, length: data.length, dest },
        resolve, reject });
      this.pump();
    });
  }

  private async compressHere(data: Buffer, dest: string): Promise<Buffer> {
    while (this.active >= this.size) await new Promise<void>((resolve) => this.slots.push(resolve));
    this.active++;
    try {
      await compressChunk(data, this.options.compression, dest);
      return data;
    } finally {
      this.active--;
      this.slots.shift()?.();
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private pump(): void {
    while (this.queue.length && !this.failure) {
      const worker = this.idle.pop() ?? (this.workers.length < this.size ? this.start() : undefined);
      if (!worker) return;
      const task = this.queue.shift()!;
      this.running.set(worker, task);
      worker.ref(); // an idle worker keeps no process alive; a busy one must
      worker.postMessage(task.job, [task.job.buffer]);
    }
  }

  private start(): Worker {
    const script = this.options.script ?? workerScript();
    const env = this.options.env ? { env: this.options.env } : {};
    const worker = script.bootstrap ? new Worker(script.bootstrap, { eval: true, ...env }) : new Worker(script.url, env);
    this.workers.push(worker);
    worker.on('message', (done: ChunkDone) => {
      const task = this.running.get(worker);
      if (!task) return;
      this.running.delete(worker);
      this.idle.push(worker);
      worker.unref();
      if (done.error) task.reject(rebuiltError(done.error));
      else task.resolve(Buffer.from(done.buffer, 0, task.job.length));
      this.pump();
    });
    const what = `a ${this.options.compression} compression worker (${fileURLToPath(script.url)})`;
    worker.on('error', (error) => this.fail(new CompressionWorkerError(`${what} failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => {
      if (!this.closing) this.fail(new CompressionWorkerError(`${what} stopped with exit code ${code} before its chunk was done`));
    });
    return worker;
  }

  /** Every chunk held or waiting fails with `error`, and so does every later one. */
  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const task of [...this.running.values(), ...this.queue.splice(0)]) task.reject(error);
    this.running.clear();
    this.closing = true;
    for (const worker of this.workers) void worker.terminate();
  }
}

function rebuiltError(e: NonNullable<ChunkDone['error']>): Error {
  if (e.command !== undefined) return new CommandFailed(e.command, e.exitCode, e.stderr ?? '');
  const error = new Error(e.message);
  error.name = e.name;
  if (e.stack) error.stack = e.stack;
  return error;
}
