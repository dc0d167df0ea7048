// Streams an .img, .img.xz or .img.zst onto a device or file, hashing what it writes, then reads
// the same bytes back and compares: a card that lies about a write is caught here.
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { execa } from 'execa';
import { decodedStream } from '../image/codecs.js';
import { VerificationError } from '../image/errors.js';
import type { OnProgress } from '../image/progress.js';

const CHUNK = 4 * 1024 * 1024;

export interface FlashResult { readonly bytes: number; readonly sha256: string }

export async function writeAndVerify(image: string, target: string, options: {
  onProgress?: OnProgress; total?: number; now?: () => number;
  /** Runs between the write and the read-back (tests corrupt the target here). */
  beforeReadBack?: () => Promise<void>;
  /** The raw image's SHA-256 as its build recorded it: what is written must match it. */
  expectedSha256?: string;
} = {}): Promise<FlashResult> {
  const now = options.now ?? (() => Date.now());
  const started = now();
  const written = createHash('sha256');
  let bytes = 0;
  const report = (done: boolean, label: string) => options.onProgress?.({
    step: 'flash', label, bytes, ...(options.total ? { total: options.total } : {}), done,
    bytesPerSecond: bytes / Math.max(0.001, (now() - started) / 1000),
  });
  const out = await open(target, 'r+').catch(() => open(target, 'w'));
  const stream = await decodedStream(image);
  try {
    let last = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        await out.write(chunk, 0, chunk.length, bytes);
        written.update(chunk);
        bytes += chunk.length;
        if (now() - last > 500) { last = now(); report(false, `writing ${target}`); }
      }
    } catch (error) {
      // The disk or the card (a system error's code is a string like EIO), not the data (fzstd's codes are numbers).
      if (typeof (error as NodeJS.ErrnoException).code === 'string') throw error;
      throw new VerificationError(image, `could not be decoded (corrupt or truncated: ${(error as Error).message}); `
        + `${target} holds a partial image: build or download the image again and flash again`, { cause: error });
    }
    if (!(await out.stat()).isBlockDevice()) await out.truncate(bytes); // a file target ends where the image does
    await out.sync();
  } finally {
    await out.close();
  }
  const sha256 = written.digest('hex');
  if (options.expectedSha256 && options.expectedSha256 !== sha256)
    throw new VerificationError(image, `decodes to SHA-256 ${sha256}, not the ${options.expectedSha256} its build recorded `
      + `in manifest.json; ${target} holds a damaged image: build or download the image again and flash again`);
  // Read the device, not the page cache: drop the kernel's buffers for it first.
  if ((await stat(target)).isBlockDevice()) await execa('blockdev', ['--flushbufs', target], { reject: false });
  await options.beforeReadBack?.();
  const back = createHash('sha256');
  const input = await open(target, 'r');
  try {
    const buffer = Buffer.alloc(CHUNK);
    for (let offset = 0; offset < bytes;) {
      const { bytesRead } = await input.read(buffer, 0, Math.min(CHUNK, bytes - offset), offset);
      if (bytesRead === 0) break;
      back.update(buffer.subarray(0, bytesRead));
      offset += bytesRead;
    }
  } finally {
    await input.close();
  }
  const readBack = back.digest('hex');
  if (readBack !== sha256)
    throw new VerificationError(target, `read-back SHA-256 ${readBack} differs from the ${sha256} written; `
      + 'the card is faulty or was removed during the write: do not use it');
  report(true, `writing ${target}`);
  return { bytes, sha256 };
}
