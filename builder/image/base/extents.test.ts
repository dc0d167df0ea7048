import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { copyRange, dataExtents, within, ZERO_BLOCK } from './extents.js';

const MiB = 1024 * 1024;

/** 9 MiB + 100 bytes: data at odd places, zeros between (more than the 4 MiB a read takes at once). */
function sample(): Buffer {
  const image = Buffer.alloc(9 * MiB + 100);
  randomBytes(10).copy(image, 5); // inside the first block
  randomBytes(ZERO_BLOCK + 7).copy(image, 3 * MiB - 3); // across a read's edge
  randomBytes(50).copy(image, 9 * MiB + 40); // in the short last block
  return image;
}

describe('data extents', () => {
  it('finds the blocks that hold data, merged where they touch', async () => {
    const dir = await tempDir('mcpi-extents-');
    await writeFile(join(dir, 'image'), sample());
    const file = await open(join(dir, 'image'), 'r');
    try {
      expect(await dataExtents(file, 0, 9 * MiB + 100)).toEqual([
        { offset: 0, bytes: ZERO_BLOCK },
        { offset: 3 * MiB - ZERO_BLOCK, bytes: 3 * ZERO_BLOCK },
        { offset: 9 * MiB, bytes: 100 },
      ]);
    } finally {
      await file.close();
    }
  });

  it('cuts extents to a range', () => {
    expect(within([{ offset: 0, bytes: 10 }, { offset: 20, bytes: 10 }, { offset: 40, bytes: 5 }], 5, 25))
      .toEqual([{ offset: 5, bytes: 5 }, { offset: 20, bytes: 5 }]);
  });

  it.each([['with the extents', true], ['finding the zeros itself', false]])('copies a range %s: the same bytes and hash, zeros left as holes', async (_, withExtents) => {
    const dir = await tempDir('mcpi-extents-');
    const image = sample();
    await writeFile(join(dir, 'image'), image);
    const source = await open(join(dir, 'image'), 'r');
    const target = await open(join(dir, 'copy'), 'w');
    const hash = createHash('sha256');
    try {
      await target.truncate(image.length + 4096);
      const extents = await dataExtents(source, 0, image.length);
      // Shifted by 4096 bytes: a partition copied to its place in an image.
      await copyRange(source, 0, image.length, { target, targetOffset: 4096, hash, ...(withExtents ? { extents } : {}) });
    } finally {
      await Promise.all([source.close(), target.close()]);
    }
    const copy = await readFile(join(dir, 'copy'));
    expect(copy.subarray(4096).equals(image)).toBe(true);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(image).digest('hex'));
    // 9 MiB long, a few blocks on disk (NTFS makes no holes unless a file is marked sparse).
    if (process.platform !== 'win32') expect((await stat(join(dir, 'copy'))).blocks * 512).toBeLessThan(MiB);
  });
});
