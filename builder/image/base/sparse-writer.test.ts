import { tempDir } from '../../../test/helpers/temp-dir.js';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSparse } from './sparse-writer.js';

async function* chunks(parts: Buffer[]) { for (const p of parts) yield p; }

describe('writeSparse', () => {
  it('keeps the bytes and the size exactly, and leaves zero runs as holes', async () => {
    const dir = await tempDir('mcpi-sparse-');
    try {
      const data = Buffer.alloc(8 * 1024 * 1024 + 777);
      data.write('start', 0);
      data.write('middle', 3 * 1024 * 1024 + 5);
      data.write('end', data.length - 3);
      // Odd chunk sizes so blocks straddle chunks.
      const parts = [data.subarray(0, 100_001), data.subarray(100_001, 5_000_000), data.subarray(5_000_000)];
      const path = join(dir, 'out.img');
      expect(await writeSparse(chunks(parts), path)).toBe(data.length);
      expect((await readFile(path)).equals(data)).toBe(true);
      expect((await stat(path)).blocks * 512).toBeLessThan(1024 * 1024); // a few 64 KiB blocks, not 8 MiB
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
