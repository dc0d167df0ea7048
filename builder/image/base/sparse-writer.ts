// Writes a stream to a file leaving holes where the data is zeros, so a decompressed 4 GiB
// image whose filesystems are half empty takes half the disk, and every per-node copy of it
// (cp --sparse=auto) writes only the real data.
import { open } from 'node:fs/promises';
import { writeData, ZERO_BLOCK } from './extents.js';

/** Consumes `chunks` into `path` (created with `mode`), returns the byte count. */
export async function writeSparse(chunks: AsyncIterable<Buffer>, path: string, mode = 0o644): Promise<number> {
  const file = await open(path, 'w', mode);
  let offset = 0;
  let pending: Buffer = Buffer.alloc(0);
  // Whole blocks only until the end: the zero blocks are the ones the file's copies leave as holes.
  const flush = async (data: Buffer) => {
    await writeData(file, data, offset, true);
    offset += data.length;
  };
  try {
    for await (const chunk of chunks) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      const whole = pending.length - (pending.length % ZERO_BLOCK);
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
