// Ubuntu sizes `writable` close to its content. When what we add does not fit, grow the image
// file, the last partition's table entry and the ext4 filesystem, in that order, before writing.
import { mkdtemp, open, rm, truncate } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ensureOk, type CommandRunner } from '../command-runner.js';
import { ImageLayoutError } from './errors.js';
import { RASPI_LABELS, readImageLayout, type ExpectedLabels, type ImageLayout } from './layout.js';
import { SECTOR, withPartitionSectors } from './mbr.js';
import { REPRODUCIBLE_TIME } from './reproducible-time.js';
import { partialPath } from '../output/leftovers.js';

const MiB = 1024 * 1024;
/** Room left after our files: logs and the snap seeding on first boot write before growpart runs. */
export const ROOT_HEADROOM = 64 * MiB;

export const bytesToAdd = (layout: ImageLayout, payloadBytes: number): number =>
  Math.max(0, payloadBytes + ROOT_HEADROOM - layout.root.freeBytes);

export async function growRootIfNeeded(run: CommandRunner, image: string, layout: ImageLayout, payloadBytes: number,
  labels: ExpectedLabels = RASPI_LABELS): Promise<{ layout: ImageLayout; grownBytes: number }> {
  const needed = bytesToAdd(layout, payloadBytes);
  if (needed === 0) return { layout, grownBytes: 0 };
  const root = layout.root.partition;
  const last = Math.max(...layout.partitions.map((p) => p.startSector + p.sectors));
  if (root.startSector + root.sectors !== last)
    throw new ImageLayoutError(image, `writable (p${root.number}) is not the last partition, so it cannot grow`,
      'Use an image whose root partition comes last, as Ubuntu\'s do.');
  const grow = Math.ceil(needed / (4 * MiB)) * 4 * MiB; // whole 4 MiB steps keep the end aligned
  const newSectors = root.sectors + grow / SECTOR;
  await truncate(image, Math.max(layout.size, (root.startSector + newSectors) * SECTOR));
  const file = await open(image, 'r+');
  try {
    const sector0 = Buffer.alloc(SECTOR);
    await file.read(sector0, 0, SECTOR, 0);
    await file.write(withPartitionSectors(sector0, root.number, newSectors), 0, SECTOR, 0);
  } finally {
    await file.close();
  }
  // resize2fs cannot work in place at an offset (with ?offset= it truncates the file to the
  // filesystem's size), so the partition is resized as a file of its own and copied back whole.
  const staging = await mkdtemp(`${partialPath(join(dirname(image), '.mcpi-grow'))}-`);
  const part = join(staging, 'writable.ext4');
  const env = { E2FSPROGS_FAKE_TIME: String(REPRODUCIBLE_TIME) };
  try {
    const offset = layout.root.offset;
    ensureOk('dd', await run('dd', [`if=${image}`, `of=${part}`, 'bs=4M', 'iflag=skip_bytes,count_bytes',
      `skip=${offset}`, `count=${layout.root.bytes}`, 'conv=sparse', 'status=none']));
    const checked = await run('e2fsck', ['-fp', part], { env });
    if (checked.exitCode !== 0 && checked.exitCode !== 1) ensureOk('e2fsck', checked); // 1 = fixed something
    ensureOk('resize2fs', await run('resize2fs', [part, `${(newSectors * SECTOR) / 1024}K`], { env }));
    // Blocks resize2fs zeroed must not keep their old bytes: punch the region to zeros first,
    // then copy back sparsely (the image stays sparse); without hole punching, copy it all.
    const punched = await run('fallocate', ['--punch-hole', '--offset', String(offset),
      '--length', String(newSectors * SECTOR), image]);
    ensureOk('dd', await run('dd', [`if=${part}`, `of=${image}`, 'bs=4M', 'oflag=seek_bytes', `seek=${offset}`,
      punched.exitCode === 0 ? 'conv=notrunc,sparse' : 'conv=notrunc', 'status=none']));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { layout: await readImageLayout(image, labels), grownBytes: grow };
}
