// Writes a stream to a file leaving holes where the data is zeros, so a decompressed 4 GiB
// image whose filesystems are half empty takes half the disk, and every per-node copy of it
// (cp --sparse=auto) writes only the real data.
import { open } from 'node:fs/promises';

const BLOCK = 64 * 1024;
const ZEROS = Buffer.alloc(BLOCK);

const isZero = (block: Buffer): boolean =>
  block.length === BLOCK ? block.equals(ZEROS) : block.equals(ZEROS.subarray(0, block.length));

/** Consumes `chunks` into `path` (created with `mode`), returns the byte count. */
export async function writeSparse(chunks: AsyncIterable<Buffer>, path: string, mode = 0o644): Promise<number> {
  const file = await open(path, 'w', mode);
  let offset = 0;
  let pending: Buffer = Buffer.alloc(0);
  const flush = async (data: Buffer) => {
    for (let at = 0; at < data.length; at += BLOCK) {
      const block = data.subarray(at, at + BLOCK);
      if (!isZero(block)) await file.write(block, 0, block.length, offset);
      offset += block.length;
    }
  };
  try {
    for await (const chunk of chunks) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      const whole = pending.length - (pending.length % BLOCK);
      await flush(pending.subarray(0, whole));
      pending = pending.subarray(whole);
    }
    await flush(pending);
    await file.truncate(offset); // holes at the end still count towards the size
  } finally {
    await file.close();
  }
  return offset;
}
