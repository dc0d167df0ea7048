// Where an image holds data. A raspi image is half zeros (its filesystems are mostly empty):
// found once per build by one read of the base, the data ranges let every node's copy read and
// write only the data, and its hash take the zeros from memory instead of from the disk.
// (Node has no SEEK_DATA; a read that finds the zeros is what cp --sparse=always does too.)
import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

/** `bytes` bytes of data at `offset`; the ranges between extents are zeros. */
export interface Extent { readonly offset: number; readonly bytes: number }

/** Zeros are found in blocks of this size (the size of the holes a copy leaves). */
export const ZERO_BLOCK = 64 * 1024;
const IO_BYTES = 4 * 1024 * 1024;
const ZEROS = Buffer.alloc(IO_BYTES);

const isZero = (data: Buffer): boolean => data.equals(ZEROS.subarray(0, data.length));

/** Adds [offset, offset + bytes) to sorted, merged `extents`, joining the last one when they touch. */
function append(extents: Extent[], offset: number, bytes: number): void {
  const last = extents.at(-1);
  if (last && last.offset + last.bytes === offset) extents[extents.length - 1] = { offset: last.offset, bytes: last.bytes + bytes };
  else extents.push({ offset, bytes });
}

/** The data extents of `[from, from + bytes)` of `file`, by one read. */
export async function dataExtents(file: FileHandle, from: number, bytes: number): Promise<Extent[]> {
  const extents: Extent[] = [];
  const buffer = Buffer.allocUnsafeSlow(IO_BYTES);
  for (let at = from; at < from + bytes;) {
    const length = Math.min(IO_BYTES, from + bytes - at);
    await readFully(file, buffer, length, at);
    for (let b = 0; b < length; b += ZERO_BLOCK) {
      const block = buffer.subarray(b, Math.min(length, b + ZERO_BLOCK));
      if (!isZero(block)) append(extents, at + b, block.length);
    }
    at += length;
  }
  return extents;
}

/** The extents that lie in [start, end), cut to it. */
export function within(extents: readonly Extent[], start: number, end: number): Extent[] {
  const cut: Extent[] = [];
  for (const e of extents) {
    const from = Math.max(start, e.offset);
    const to = Math.min(end, e.offset + e.bytes);
    if (from < to) cut.push({ offset: from, bytes: to - from });
  }
  return cut;
}

async function readFully(file: FileHandle, buffer: Buffer, length: number, position: number): Promise<void> {
  for (let filled = 0; filled < length;) {
    const { bytesRead } = await file.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) throw new RangeError(`the file ends before byte ${position + length}`);
    filled += bytesRead;
  }
}

/**
 * Reads `[start, end)` of `source` and writes it to `target` at `targetOffset` (default: the same
 * offsets), leaving holes: only `extents` are read (the rest is zeros), or, without them, every
 * block is read and the zero ones are not written. With `hash`, adds the whole range to it, zeros
 * included, in order. Without `target`, only hashes.
 */
export async function copyRange(source: FileHandle, start: number, end: number,
  options: { target?: FileHandle; targetOffset?: number; extents?: readonly Extent[]; hash?: Hash } = {}): Promise<void> {
  const { target, hash } = options;
  const shift = (options.targetOffset ?? start) - start;
  const buffer = Buffer.allocUnsafeSlow(IO_BYTES);
  const zeros = (bytes: number) => {
    for (let left = bytes; left > 0; left -= IO_BYTES) hash?.update(ZEROS.subarray(0, Math.min(IO_BYTES, left)));
  };
  const extents = options.extents ? within(options.extents, start, end) : [{ offset: start, bytes: end - start }];
  let at = start;
  for (const extent of extents) {
    zeros(extent.offset - at);
    for (at = extent.offset; at < extent.offset + extent.bytes;) {
      const length = Math.min(IO_BYTES, extent.offset + extent.bytes - at);
      const data = buffer.subarray(0, length);
      await readFully(source, data, length, at);
      hash?.update(data);
      if (target) await writeData(target, data, at + shift, !options.extents);
      at += length;
    }
  }
  zeros(end - at);
}

/** Writes `data` at `position`; with `skipZeros`, only its runs of non-zero blocks (ZERO_BLOCK-sized from its start). */
export async function writeData(file: FileHandle, data: Buffer, position: number, skipZeros: boolean): Promise<void> {
  if (!skipZeros) return writeFully(file, data, position);
  let run = -1;
  for (let b = 0; b < data.length; b += ZERO_BLOCK) {
    const zero = isZero(data.subarray(b, Math.min(data.length, b + ZERO_BLOCK)));
    if (!zero && run < 0) run = b;
    if (zero && run >= 0) {
      await writeFully(file, data.subarray(run, b), position + run);
      run = -1;
    }
  }
  if (run >= 0) await writeFully(file, data.subarray(run), position + run);
}

async function writeFully(file: FileHandle, data: Buffer, position: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await file.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}
