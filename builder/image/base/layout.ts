// Reads an image file's partition table and filesystem headers and checks them against what a
// Raspberry Pi image must be: a FAT `system-boot` and an ext4 `writable`.
import { open } from 'node:fs/promises';
import { ImageLayoutError } from '../errors.js';
import { MbrError, parseMbr, SECTOR, type MbrPartition } from './mbr.js';
import { readFatInfo } from '../fat/geometry.js';
import { readExt4Info, type Ext4Info } from './ext4-superblock.js';

export interface ExpectedLabels { readonly boot: string; readonly root: string }
export const RASPI_LABELS: ExpectedLabels = { boot: 'system-boot', root: 'writable' };

export interface PartitionPlace { readonly partition: MbrPartition; readonly offset: number; readonly bytes: number }
export interface ImageLayout {
  readonly size: number;
  readonly partitions: readonly MbrPartition[];
  readonly boot: PartitionPlace;
  readonly root: PartitionPlace & { readonly ext4: Ext4Info; readonly freeBytes: number };
}

const place = (partition: MbrPartition): PartitionPlace =>
  ({ partition, offset: partition.startSector * SECTOR, bytes: partition.sectors * SECTOR });

export async function readImageLayout(image: string, labels: ExpectedLabels = RASPI_LABELS): Promise<ImageLayout> {
  const file = await open(image, 'r');
  try {
    const size = (await file.stat()).size;
    const read = async (offset: number, length: number) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await file.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    };
    let partitions: MbrPartition[];
    try {
      partitions = parseMbr(await read(0, SECTOR));
    } catch (error) {
      if (error instanceof MbrError) throw new ImageLayoutError(image, error.message, 'Use an Ubuntu Server preinstalled raspi image (.img or .img.xz).', { cause: error });
      throw error;
    }
    for (const p of partitions) if ((p.startSector + p.sectors) * SECTOR > size)
      throw new ImageLayoutError(image, `partition ${p.number} ends past the end of the file`, 'The image is truncated: download it again.');
    let boot: PartitionPlace | undefined;
    let root: ImageLayout['root'] | undefined;
    const seen: string[] = [];
    for (const partition of partitions) {
      const where = place(partition);
      const fat = readFatInfo(await read(where.offset, 512));
      if (fat) {
        seen.push(`p${partition.number} FAT "${fat.label}"`);
        if (fat.label === labels.boot) boot = where;
        continue;
      }
      const ext4 = readExt4Info(await read(where.offset + 1024, 1024));
      if (ext4) {
        seen.push(`p${partition.number} ext4 "${ext4.label}"`);
        if (ext4.label === labels.root) root = { ...where, ext4, freeBytes: ext4.freeBlocks * ext4.blockSize };
      }
    }
    const found = seen.length ? seen.join(', ') : 'no FAT or ext4 partition';
    if (!boot) throw new ImageLayoutError(image, `has no FAT partition labelled "${labels.boot}" (found ${found})`,
      'Use an Ubuntu Server preinstalled image for Raspberry Pi.');
    if (!root) throw new ImageLayoutError(image, `has no ext4 partition labelled "${labels.root}" (found ${found})`,
      'Use an Ubuntu Server preinstalled image for Raspberry Pi.');
    return { size, partitions, boot, root };
  } finally {
    await file.close();
  }
}
