// A base image in, a cached raw image out: `.img.xz` is decompressed once (streamed through xz,
// hashed on the way) and reused by every node and every later build.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { ImageLayoutError } from './errors.js';
import { sha256File } from './hash-file.js';
import { writeSparse } from './sparse-writer.js';
import { partialPath } from '../output/leftovers.js';

export interface RawBase {
  /** The raw .img to copy per node. */
  readonly path: string;
  /** SHA-256 of the file the user gave (compressed or not): the base's identity in manifests. */
  readonly sourceSha256: string;
  readonly fromCache: boolean;
}

export type OnBytes = (done: number, total: number) => void;

/** `knownSha256`: the source's hash when it was just verified (a download), so it is not read again. */
export async function prepareRawBase(source: string, cacheDir: string, onBytes: OnBytes = () => {},
  knownSha256?: string): Promise<RawBase> {
  const info = await stat(source).catch((error: NodeJS.ErrnoException) => {
    throw new ImageLayoutError(source, error.code === 'ENOENT' ? 'does not exist' : `cannot be read (${error.code})`,
      'Pass an Ubuntu raspi image with --base-image (a .img or .img.xz file).', { cause: error });
  });
  const sourceSha256 = knownSha256 ?? await sha256File(source);
  if (!source.endsWith('.xz')) return { path: source, sourceSha256, fromCache: false };
  await mkdir(cacheDir, { recursive: true });
  const cached = join(cacheDir, `${sourceSha256}.img`);
  if (await stat(cached).then(() => true, () => false)) return { path: cached, sourceSha256, fromCache: true };
  const partial = partialPath(cached);
  try {
    const xz = execa('xz', ['--decompress', '--stdout', '--threads=0'], { stdout: 'pipe', stdin: 'pipe', buffer: false });
    let done = 0;
    const input = createReadStream(source, { highWaterMark: 4 * 1024 * 1024 });
    input.on('data', (chunk) => onBytes((done += chunk.length), info.size));
    const check = createHash('sha256');
    input.on('data', (chunk) => check.update(chunk as Buffer));
    // When xz rejects the data, feeding it fails too (EPIPE): xz's verdict is the one to report.
    const [fed, written, decompressed] = await Promise.allSettled([
      pipeline(input, xz.stdin!), writeSparse(xz.stdout! as AsyncIterable<Buffer>, partial), xz,
    ]);
    if (decompressed.status === 'rejected')
      throw new ImageLayoutError(source, 'could not be decompressed with xz (corrupt or truncated)',
        'Download the image again.', { cause: decompressed.reason });
    for (const step of [fed, written]) if (step.status === 'rejected') throw step.reason;
    if (check.digest('hex') !== sourceSha256)
      throw new ImageLayoutError(source, 'changed while it was being read', 'Leave the file alone during the build and retry.');
    await rename(partial, cached);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return { path: cached, sourceSha256, fromCache: false };
}
