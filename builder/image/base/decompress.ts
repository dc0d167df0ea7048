// A base image in, a cached raw image out: `.img.xz` is decompressed once (in process with
// xz-decompress, liblzma built to WebAssembly: the same on every OS; hashed on the way) and
// reused by every node and every later build.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { decodedStream } from '../codecs.js';
import { ImageLayoutError } from '../errors.js';
import { sha256File } from '../hash-file.js';
import { writeSparse } from './sparse-writer.js';
import { partialPath } from '../../output/leftovers.js';

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
    const check = createHash('sha256');
    const decoded = await decodedStream(source, Readable.from(counted(createReadStream(source, { highWaterMark: 4 * 1024 * 1024 }),
      (chunk, done) => { check.update(chunk); onBytes(done, info.size); })));
    try {
      await writeSparse(bufferPieces(decoded), partial);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== undefined) throw error; // the disk, not the data
      throw new ImageLayoutError(source, 'could not be decompressed with xz (corrupt or truncated)',
        'Download the image again.', { cause: error });
    }
    if (check.digest('hex') !== sourceSha256)
      throw new ImageLayoutError(source, 'changed while it was being read', 'Leave the file alone during the build and retry.');
    await rename(partial, cached);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return { path: cached, sourceSha256, fromCache: false };
}

/** Passes the pieces on, telling `seen` about each (the hash and the progress of what is read). */
async function* counted(input: AsyncIterable<Buffer>, seen: (chunk: Buffer, done: number) => void): AsyncGenerator<Buffer> {
  let done = 0;
  for await (const chunk of input) {
    seen(chunk, (done += chunk.length));
    yield chunk;
  }
}

/** The decoder's pieces as Buffers (writeSparse compares blocks with Buffer.equals). */
async function* bufferPieces(stream: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  for await (const piece of stream) yield Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
}
