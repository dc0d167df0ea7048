// xz and zstd in process, on every OS: one chunk of an image compressed at a time, and a whole
// .img.xz / .img.zst decoded as a stream. Each library loads only when a build or flash uses it.
//
// xz: a liblzma binding (node-liblzma, else lzma-native: xz-libraries.ts) gives, with these
// settings, the very bytes of `xz -6 --threads=1 --check=crc64`, so chunks cached by any of them
// stay valid. Where neither loads (lzma-native's "linux-arm64" build is an x86-64 file), the xz
// program does the same job. zstd: zstd-wasm (libzstd in WebAssembly) writes, fzstd reads.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { chooseXzEncoder, type XzLibrary } from './xz-libraries.js';

export type ChunkedCompression = 'xz' | 'zst';

interface ZstdWasm { init(): Promise<void>; compress(data: Uint8Array, level: number): Uint8Array }

let zstd: Promise<ZstdWasm> | undefined;

function loadZstd(): Promise<ZstdWasm> {
  zstd ??= import('@bokuweb/zstd-wasm').then(async (m) => {
    const lib = ((m as { default?: ZstdWasm }).default ?? m) as ZstdWasm;
    await lib.init();
    return lib;
  });
  return zstd;
}

export type XzCompressor = XzLibrary | 'xz program';

/** Which implementation compresses xz chunks here, for `doctor` and the build's log. */
export const xzCompressor = async (): Promise<XzCompressor> => (await chooseXzEncoder()).encoder?.library ?? 'xz program';

/** One chunk into the file `dest`, the same bytes every time for the same data. */
export async function compressChunk(data: Buffer, compression: ChunkedCompression, dest: string): Promise<void> {
  if (compression === 'zst') {
    // One frame, level 3, no checksum (the manifest carries the raw image's SHA-256).
    const frame = (await loadZstd()).compress(data, 3);
    const out = await open(dest, 'w', 0o644);
    try {
      await out.writeFile(frame);
    } finally {
      await out.close();
    }
    return;
  }
  const { encoder } = await chooseXzEncoder();
  if (encoder) return pipeline(Readable.from([data]), encoder.createCompressor(), createWriteStream(dest, { mode: 0o644 }));
  await compressWithXzProgram(data, dest);
}

export async function compressWithXzProgram(data: Buffer, dest: string): Promise<void> {
  const output = await open(dest, 'w', 0o644);
  try {
    const child = spawn('xz', ['--compress', '--stdout', '-6', '--threads=1', '--check=crc64'], { stdio: ['pipe', output.fd, 'pipe'] });
    const stderr: Buffer[] = [];
    child.stderr!.on('data', (b: Buffer) => stderr.push(b));
    child.on('error', () => {}); // a missing program: 'close' still comes, with its code
    child.stdin!.on('error', () => {}); // a tool that dies early closes its stdin: its exit code says why
    child.stdin!.end(data);
    // Not events.once: it rejects on 'error' ("spawn xz ENOENT") before 'close' brings the code.
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    // Imported on failure only: command-runner brings execa, which a compression worker need not load.
    if (code !== 0) throw new (await import('../command-runner.js')).CommandFailed('xz', code ?? undefined,
      Buffer.concat(stderr).toString() || 'no liblzma binding (node-liblzma, lzma-native) loads on this machine and the xz program did not run: install xz');
  } finally {
    await output.close();
  }
}

/** The raw bytes of `path`: decoded when it ends in .xz or .zst (one or many streams or frames). */
export async function decodedStream(path: string, input: Readable = createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })): Promise<Readable> {
  if (path.endsWith('.xz')) {
    // CommonJS: Node puts its exports under `default`; loaders that honour __esModule do not.
    const m = await import('xz-decompress') as unknown as { default?: typeof import('xz-decompress'); XzReadableStream?: unknown };
    const xz = (m.XzReadableStream ? m : m.default!) as typeof import('xz-decompress');
    return Readable.fromWeb(new xz.XzReadableStream(Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>) as unknown as WebReadableStream);
  }
  if (path.endsWith('.zst')) {
    const { Decompress } = await import('fzstd');
    return Readable.from(zstdFrames(input, Decompress));
  }
  return input;
}

async function* zstdFrames(input: AsyncIterable<Buffer>, Decompress: typeof import('fzstd').Decompress): AsyncGenerator<Buffer> {
  let out: Buffer[] = [];
  // Copied: a block handed out may be a view that the decoder writes over later.
  const decoder = new Decompress((chunk) => { out.push(Buffer.from(chunk)); });
  let any = false;
  for await (const piece of input) {
    any = true;
    decoder.push(piece);
    yield* out;
    out = [];
  }
  if (!any) throw new Error('empty .zst file');
  decoder.push(new Uint8Array(0), true); // throws on a truncated frame
  yield* out;
}
