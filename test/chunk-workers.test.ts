// Chunks compressed on worker threads give the very bytes the main thread gave before (so the
// chunk cache stays valid), decode with the real xz and zstd programs, move their memory
// instead of copying it, and a worker that dies or a compressor that fails stops the image
// with the reason instead of hanging.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHUNK_BYTES, compressChunked } from '../builder/image/write/compress/chunked-compress.js';
import { ChunkWorkers, CompressionWorkerError } from '../builder/image/write/compress/chunk-workers.js';
import { compressChunk } from '../builder/image/codecs.js';
import { NO_LZMA_NATIVE_ENV } from '../builder/image/xz-libraries.js';
import type { Progress } from '../builder/image/progress.js';
import { tool } from './helpers/raspi-fixture.js';
import { tempDir } from './helpers/temp-dir.js';

const MiB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Log-like lines from a fixed generator: text liblzma and zstd must really work on. */
function text(bytes: number, seed: number): Buffer {
  let x = seed;
  const lines: string[] = [];
  for (let size = 0; size < bytes;) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const line = `row ${x % 100000} value ${x.toString(36)}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

// Two equal chunks of zeros (both compressed at once, into one cache entry) and a short text tail.
const image = () => Buffer.concat([Buffer.alloc(2 * CHUNK_BYTES), text(MiB, 12345)]);
// What the main-thread compressor (before the workers) wrote for image(), by compressChunked at
// commit 9642a69: the chunk cache built then must serve builds now.
const BEFORE_WORKERS = {
  raw: '4e0007a3d95d93df72e58109e01c157622cec5f6e2a2fc2176d7422fe88300a5',
  xz: '46ff491a2685fec6217d3009af910d1bb3649adc0d8c69f3c4673880a74f95b3',
  zst: '83ae64a4323c1531bc5170554847f4054b48f4002c4db8b97f1b9828b8c36b0c',
};

describe('chunks compressed on worker threads', () => {
  it.each(['xz', 'zst'] as const)('writes the %s bytes the main thread wrote before, which the real program decodes to the image', async (compression) => {
    const dir = await tempDir('mcpi-workers-');
    const raw = image();
    expect(sha256(raw)).toBe(BEFORE_WORKERS.raw);
    await writeFile(join(dir, 'pi1.img'), raw);
    const out = join(dir, `pi1.img.${compression}`);
    const r = await compressChunked(join(dir, 'pi1.img'), out, compression, join(dir, 'cache'));
    expect(r).toMatchObject({ chunks: 3, compressedChunks: 3, rawSha256: BEFORE_WORKERS.raw, sha256: BEFORE_WORKERS[compression] });
    expect(sha256(await readFile(out))).toBe(BEFORE_WORKERS[compression]);
    // The old path's function, chunk by chunk on this thread, gives the same file.
    const before: Buffer[] = [];
    for (let at = 0; at < raw.length; at += CHUNK_BYTES) {
      const dest = join(dir, `main-thread-${at}`);
      await compressChunk(raw.subarray(at, at + CHUNK_BYTES), compression, dest);
      before.push(await readFile(dest));
    }
    expect(sha256(Buffer.concat(before))).toBe(r.sha256);
    const decoder = compression === 'xz' ? 'xz -dc' : 'zstd -dc';
    const decoded = await tool('bash', ['-c', `${decoder} '${out}' | sha256sum`]);
    expect(decoded.stdout.split(' ')[0]).toBe(BEFORE_WORKERS.raw);
    const cached = await readdir(join(dir, 'cache', 'chunks', compression === 'xz' ? 'xz' : 'zst-wasm'));
    expect(cached.sort()).toEqual([`${sha256(Buffer.alloc(CHUNK_BYTES))}.${compression}`, `${sha256(text(MiB, 12345))}.${compression}`].sort());
  });

  // The liblzma binding stays on this thread (its native work aborts the process if a worker is torn down mid-chunk, as
  // Ctrl-C does): the xz program runs on a worker, and both give the binding's bytes.
  it('gives the same xz bytes from the xz program on a worker, moving the chunk, and from the liblzma binding on this thread', async () => {
    const dir = await tempDir('mcpi-workers-');
    const data = text(2 * MiB, 99);
    await compressChunk(data, 'xz', join(dir, 'main-thread.xz'));
    const want = sha256(await readFile(join(dir, 'main-thread.xz')));
    for (const xzProgram of [false, true]) {
      const workers = new ChunkWorkers({ compression: 'xz', xzProgram, size: 1 });
      try {
        const chunk = Buffer.allocUnsafeSlow(data.length);
        data.copy(chunk);
        const done = workers.compress(chunk, join(dir, `worker-${xzProgram}.xz`));
        expect(chunk.buffer.byteLength).toBe(xzProgram ? 0 : data.length); // transferred to the worker, not copied; kept here for the binding
        const back = await done;
        expect(back.equals(data)).toBe(true); // and its memory handed back, unchanged
        expect(`xz program ${xzProgram}: ${sha256(await readFile(join(dir, `worker-${xzProgram}.xz`)))}`).toBe(`xz program ${xzProgram}: ${want}`);
      } finally {
        await workers.close();
      }
    }
  });

  it('fails every chunk with the reason when a worker dies or cannot start, instead of hanging', async () => {
    const dir = await tempDir('mcpi-workers-');
    const exits = join(dir, 'exits.mjs');
    await writeFile(exits, "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => process.exit(3));\n");
    const throws = join(dir, 'throws.mjs');
    await writeFile(throws, "throw new Error('liblzma did not load');\n");
    for (const [script, reason] of [[exits, /stopped with exit code 3 before its chunk was done/], [throws, /failed: liblzma did not load/]] as const) {
      const workers = new ChunkWorkers({ compression: 'xz', size: 2, script: { url: pathToFileURL(script) } });
      try {
        const chunks = [0, 1, 2].map((i) => workers.compress(Buffer.alloc(MiB), join(dir, `c${i}`)));
        for (const chunk of chunks) await expect(chunk).rejects.toThrow(reason);
        await expect(chunks[0]).rejects.toBeInstanceOf(CompressionWorkerError);
        await expect(workers.compress(Buffer.alloc(MiB), join(dir, 'later'))).rejects.toThrow(reason);
      } finally {
        await workers.close();
      }
    }
  });

  it('stops an image with the compressor\'s message and leaves neither it nor a partial chunk', async () => {
    const dir = await tempDir('mcpi-workers-');
    await writeFile(join(dir, 'pi1.img'), text(MiB, 5));
    const saved = { path: process.env.PATH, noNative: process.env[NO_LZMA_NATIVE_ENV] };
    process.env.PATH = join(dir, 'no-programs-here');
    process.env[NO_LZMA_NATIVE_ENV] = '1'; // the xz program, which this PATH does not have
    try {
      await expect(compressChunked(join(dir, 'pi1.img'), join(dir, 'pi1.img.xz'), 'xz', join(dir, 'cache')))
        .rejects.toMatchObject({ name: 'CommandFailed', message: expect.stringContaining('install xz') });
    } finally {
      process.env.PATH = saved.path;
      if (saved.noNative === undefined) delete process.env[NO_LZMA_NATIVE_ENV];
      else process.env[NO_LZMA_NATIVE_ENV] = saved.noNative;
    }
    await expect(stat(join(dir, 'pi1.img.xz'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(join(dir, 'cache', 'chunks', 'xz'))).toEqual([]);
  });

  it('reports progress in raw bytes, in order, ending with the whole image', async () => {
    const dir = await tempDir('mcpi-workers-');
    const raw = Buffer.concat([Buffer.alloc(2 * CHUNK_BYTES), text(MiB, 1)]);
    await writeFile(join(dir, 'pi2.img'), raw);
    const events: Progress[] = [];
    let clock = 0;
    await compressChunked(join(dir, 'pi2.img'), join(dir, 'pi2.img.zst'), 'zst', join(dir, 'cache'),
      { label: 'pi2.img.zst', onProgress: (p) => events.push(p), now: () => (clock += 1000) });
    expect(events.map((e) => [e.step, e.label, e.bytes, e.total, e.done])).toEqual([
      ['compress', 'pi2.img.zst', CHUNK_BYTES, raw.length, false],
      ['compress', 'pi2.img.zst', 2 * CHUNK_BYTES, raw.length, false],
      ['compress', 'pi2.img.zst', raw.length, raw.length, false],
      ['compress', 'pi2.img.zst', raw.length, raw.length, true],
    ]);
    expect(events.every((e) => e.bytesPerSecond > 0)).toBe(true);
  });
});
