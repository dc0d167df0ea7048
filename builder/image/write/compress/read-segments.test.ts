import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../../../../test/helpers/temp-dir.js';
import { BufferPool, readSegments } from './read-segments.js';

const collect = async (pieces: AsyncIterable<Buffer>) => {
  const out: Buffer[] = [];
  for await (const p of pieces) out.push(p);
  return out;
};

describe('readSegments', () => {
  it('reads a base with one range replaced, in pieces of the size asked, whatever the boundaries', async () => {
    const dir = await tempDir('mcpi-segments-');
    const base = randomBytes(10_000);
    const boot = randomBytes(3_000);
    await writeFile(join(dir, 'base'), base);
    await writeFile(join(dir, 'boot'), boot);
    const expected = Buffer.concat([base.subarray(0, 1_234), boot, base.subarray(4_234)]);
    for (const piece of [1, 512, 1_000, 1_234, 4_096, 20_000]) {
      const segments = [{ path: join(dir, 'base'), from: 0, bytes: 1_234 }, { path: join(dir, 'boot'), from: 0, bytes: boot.length },
        { path: join(dir, 'base'), from: 4_234, bytes: base.length - 4_234 }];
      const pieces = await collect(readSegments(segments, piece));
      expect(Buffer.concat(pieces).equals(expected)).toBe(true);
      expect(pieces.slice(0, -1).every((p) => p.length === piece)).toBe(true);
    }
  });

  it('says which file ended early instead of yielding short data', async () => {
    const dir = await tempDir('mcpi-segments-');
    await writeFile(join(dir, 'short'), randomBytes(100));
    await expect(collect(readSegments([{ path: join(dir, 'short'), from: 0, bytes: 200 }], 64))).rejects.toThrow(`${join(dir, 'short')} ends before byte 200`);
  });

  it('takes pieces from a pool and, given back, reuses two buffers for the whole stream', async () => {
    const dir = await tempDir('mcpi-segments-');
    const data = randomBytes(10_000);
    await writeFile(join(dir, 'image'), data);
    const pool = new BufferPool(1_024);
    const seen = new Set<ArrayBufferLike>();
    const out: Buffer[] = [];
    for await (const piece of readSegments([{ path: join(dir, 'image'), from: 0, bytes: data.length }], 1_024, pool)) {
      seen.add(piece.buffer);
      out.push(Buffer.from(piece)); // a copy: the piece goes back to the pool
      pool.give(piece);
    }
    expect(Buffer.concat(out).equals(data)).toBe(true);
    expect(seen.size).toBe(1);
  });
});
