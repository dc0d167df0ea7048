// The in-process FAT writer against the oracles: volumes made by mkfs.vfat (FAT32 with Ubuntu's
// 512-byte clusters, FAT32 with 4 KiB ones, FAT16), edited by fat/volume.ts, then checked with
// fsck.fat -n and read back with mtools, byte for byte.
import { copyFile, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FatRoomError, writeFatFiles } from '../builder/image/fat/write-files.js';
import { fatGeometry } from '../builder/image/fat/geometry.js';
import { FatError, FatVolume } from '../builder/image/fat/volume.js';
import { tool } from './helpers/raspi-fixture.js';
import { tempDir } from './helpers/temp-dir.js';

const KINDS = [
  { kind: 'FAT32, 512-byte clusters (Ubuntu\'s)', mib: 64, args: ['-F', '32', '-S', '512', '-s', '1'] },
  { kind: 'FAT32, 4 KiB clusters', mib: 300, args: ['-F', '32', '-S', '512', '-s', '8'] },
  { kind: 'FAT16, 2 KiB clusters', mib: 48, args: ['-F', '16', '-S', '512', '-s', '4'] },
] as const;

/** A fresh volume with what a stock card has at its root (written by mtools). */
async function volume(mib: number, args: readonly string[]): Promise<string> {
  const dir = await tempDir('mcpi-fat-');
  const path = join(dir, 'boot.fat');
  await tool('truncate', ['-s', `${mib}M`, path]);
  const made = await tool('mkfs.vfat', [...args, '-n', 'system-boot', '-i', '5eed0001', path]);
  expect(made.exitCode).toBe(0);
  for (const [name, text] of [['user-data', '#cloud-config\n'], ['cmdline.txt', 'console=serial0 root=LABEL=writable\n']]) {
    await writeFile(join(dir, name!), text!);
    await tool('mcopy', ['-i', path, join(dir, name!), '::/']);
  }
  return path;
}

const fsck = async (path: string) => tool('fsck.fat', ['-n', path]);
const readBack = async (path: string, name: string) => {
  const out = join(await tempDir('mcpi-fatback-'), 'file');
  const r = await tool('mcopy', ['-n', '-i', path, `::/${name}`, out]);
  if (r.exitCode !== 0) throw new Error(`mcopy ${name}: ${r.stderr}`);
  return readFile(out);
};
const listing = async (path: string, folder: string) =>
  (await tool('mdir', ['-b', '-i', path, `::/${folder}`])).stdout.split('\n').filter(Boolean).map((l) => l.slice(`::/${folder}/`.length)).sort();

describe.each(KINDS)('the in-process FAT writer on $kind', ({ mib, args }) => {
  it('puts files near the end of the volume when asked, and the next low write in the first free clusters: fsck clean, every byte back', async () => {
    const path = await volume(mib, args);
    const big = join(await tempDir('mcpi-fatsrc-'), 'node.gz');
    await writeFile(big, randomBytes(2 * 1024 * 1024 + 5));
    await writeFatFiles(path, 0, [{ name: 'microcloud-pi/node.gz', source: big }, { name: 'microcloud-pi/install.sh', content: '#!/bin/sh\n' }],
      { placement: 'high' });
    await writeFatFiles(path, 0, [{ name: 'user-data', content: '#cloud-config\nhostname: pi9\n' }]);
    expect((await fsck(path)).exitCode).toBe(0);
    expect((await readBack(path, 'microcloud-pi/node.gz')).equals(await readFile(big))).toBe(true);
    expect(String(await readBack(path, 'user-data'))).toBe('#cloud-config\nhostname: pi9\n');
    // Where they went: mtools' minfo/mshowfat names each file's clusters.
    const clusters = async (name: string) => (await tool('mshowfat', ['-i', path, `::/${name}`])).stdout.match(/<(\d+)/)?.[1];
    const total = fatGeometry(await readFile(path).then((b) => b.subarray(0, 512)))!.clusters;
    expect(Number(await clusters('microcloud-pi/node.gz'))).toBeGreaterThan(total / 2);
    expect(Number(await clusters('user-data'))).toBeLessThan(total / 8);
  });

  it('writes a folder of long-named files and replaces root files: fsck clean, mtools reads every byte back', async () => {
    const path = await volume(mib, args);
    const big = join(await tempDir('mcpi-fatsrc-'), 'node.gz');
    await writeFile(big, randomBytes(3 * 1024 * 1024 + 77)); // not a whole number of clusters
    const files = [
      { name: 'user-data', content: '#cloud-config\nhostname: pi1\n' },
      { name: 'meta-data', content: 'instance-id: pi1\n' },
      { name: 'microcloud-pi/node.gz', source: big },
      { name: 'microcloud-pi/microcloud-pi-firstboot.service', content: '[Unit]\nDescription=x\n' },
      { name: 'microcloud-pi/SHA256SUMS', content: 'abc  node.gz\n' },
      { name: 'microcloud-pi/EMPTY', content: '' },
      { name: 'microcloud-pi/Grüße aus Köln.txt', content: 'umlauts in a long name\n' },
    ];
    await writeFatFiles(path, 0, files);
    const checked = await fsck(path);
    expect([checked.exitCode, checked.stdout]).toEqual([0, expect.stringMatching(/system-boot|boot\.fat/)]);
    for (const f of files) {
      const expected = 'source' in f ? await readFile(f.source!) : Buffer.from(f.content!);
      expect([f.name, (await readBack(path, f.name)).equals(expected)]).toEqual([f.name, true]); // equals: toEqual on MBs is slow
    }
    expect((await readBack(path, 'cmdline.txt')).toString()).toContain('root=LABEL=writable'); // others untouched
    expect(await listing(path, 'microcloud-pi')).toEqual(['EMPTY', 'Grüße aus Köln.txt', 'SHA256SUMS', 'microcloud-pi-firstboot.service', 'node.gz']);
    // Both FAT copies hold the same table, and the free space others compute is ours.
    const g = fatGeometry((await readFile(path)).subarray(0, 512))!;
    const bytes = await readFile(path);
    expect(bytes.subarray(g.fatOffset, g.fatOffset + g.fatBytes).equals(bytes.subarray(g.fatOffset + g.fatBytes, g.fatOffset + 2 * g.fatBytes))).toBe(true);
    const v = await FatVolume.open(path, 0);
    const ours = v.freeBytes;
    await v.close();
    expect((await tool('mdir', ['-i', path, '::/'])).stdout).toMatch(new RegExp(`${ours.toLocaleString('en-US').replace(/,/g, '[ ,]?')} bytes free`));
  });

  it('replaces its folder whole: what an earlier build put there goes, and the space comes back', async () => {
    const path = await volume(mib, args);
    const free = async () => { const v = await FatVolume.open(path, 0); const f = v.freeBytes; await v.close(); return f; };
    const before = await free();
    await writeFatFiles(path, 0, [{ name: 'microcloud-pi/old-one', content: randomBytes(100_000) }, { name: 'microcloud-pi/sub/deeper', content: 'x' }]);
    await writeFatFiles(path, 0, [{ name: 'microcloud-pi/new-one', content: 'new\n' }]);
    expect((await fsck(path)).exitCode).toBe(0);
    expect(await listing(path, 'microcloud-pi')).toEqual(['new-one']);
    const g = fatGeometry((await readFile(path)).subarray(0, 512))!;
    expect(await free()).toBe(before - 2 * g.clusterBytes); // the folder's own cluster and new-one's
  });

  it('grows a folder past one cluster of entries, and uses fragmented free space', async () => {
    const path = await volume(mib, args);
    // Fragment the free space: mtools writes 40 small files, every other one is removed.
    const dir = await tempDir('mcpi-frag-');
    for (let i = 0; i < 40; i++) await writeFile(join(dir, `f${i}`), randomBytes(5000));
    await tool('mcopy', ['-i', path, ...Array.from({ length: 40 }, (_, i) => join(dir, `f${i}`)), '::/']);
    for (let i = 0; i < 40; i += 2) await tool('mdel', ['-i', path, `::/f${i}`]);
    const many = Array.from({ length: 60 }, (_, i) => ({ name: `folder/a rather long file name number ${i}.txt`, content: `file ${i}\n`.repeat(i * 40) }));
    const big = { name: 'folder/big.bin', content: randomBytes(400_000) };
    await writeFatFiles(path, 0, [...many, big]);
    expect((await fsck(path)).exitCode).toBe(0);
    expect(await listing(path, 'folder')).toHaveLength(61);
    for (const f of [many[0]!, many[37]!, many[59]!, big]) expect([f.name, (await readBack(path, f.name)).equals(Buffer.from(f.content))]).toEqual([f.name, true]);
  });

  it('gives the same bytes for the same edits', async () => {
    const a = await volume(mib, args);
    const b = join(await tempDir('mcpi-fat-b-'), 'boot.fat');
    await copyFile(a, b);
    const files = [{ name: 'user-data', content: 'same\n' }, { name: 'microcloud-pi/x.txt', content: 'same too\n' }];
    await writeFatFiles(a, 0, files);
    await writeFatFiles(b, 0, files);
    expect((await readFile(a)).equals(await readFile(b))).toBe(true);
  });
});

describe('the in-process FAT writer refuses', () => {
  it('files that do not fit, writing nothing', async () => {
    const path = await volume(48, ['-F', '16', '-S', '512', '-s', '4']);
    const before = await readFile(path);
    const error = await writeFatFiles(path, 0, [{ name: 'microcloud-pi/huge', content: Buffer.alloc(60 * 1024 * 1024) }], { keepFreeBytes: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatRoomError);
    expect((error as FatRoomError).neededBytes).toBeGreaterThan((error as FatRoomError).freeBytes);
    expect((await readFile(path)).equals(before)).toBe(true);
  });

  it('a volume that is not FAT16 or FAT32', async () => {
    const path = join(await tempDir('mcpi-notfat-'), 'x.img');
    await writeFile(path, Buffer.alloc(1024 * 1024));
    await expect(FatVolume.open(path, 0)).rejects.toThrow(FatError);
    const fat12 = await volume(4, ['-F', '12']);
    await expect(FatVolume.open(fat12, 0)).rejects.toThrow(/not a FAT16 or FAT32/);
  });

  it('a FAT whose cluster chain loops, instead of hanging', async () => {
    const path = await volume(64, ['-F', '32', '-S', '512', '-s', '1']);
    await writeFatFiles(path, 0, [{ name: 'looped', content: Buffer.alloc(2048, 1) }]);
    const g = fatGeometry((await readFile(path)).subarray(0, 512))!;
    const file = await open(path, 'r+');
    const fat = Buffer.alloc(g.fatBytes);
    await file.read(fat, 0, fat.length, g.fatOffset);
    // The file's chain is 4 adjacent clusters (c, c+1, c+2, c+3, end): point its last back at its first.
    const next = (c: number) => fat.readUInt32LE(c * 4) & 0x0fffffff;
    let first = 0;
    for (let c = 2; c + 3 < g.clusters + 2 && !first; c++) {
      if (next(c) === c + 1 && next(c + 1) === c + 2 && next(c + 2) === c + 3 && next(c + 3) >= 0x0ffffff8) {
        first = c;
        fat.writeUInt32LE(c, (c + 3) * 4);
      }
    }
    await file.write(fat, 0, fat.length, g.fatOffset);
    await file.close();
    expect(first).toBeGreaterThan(2);
    await expect(writeFatFiles(path, 0, [{ name: 'looped', content: 'again' }])).rejects.toThrow(/loops/);
  });
});
