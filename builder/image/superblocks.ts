// Just enough of FAT32 and ext4 superblocks to check labels and free space. Pure.

export interface FatInfo { readonly label: string; readonly fat32: boolean }
export interface Ext4Info { readonly label: string; readonly blockSize: number; readonly blocks: number; readonly freeBlocks: number }

const ascii = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1').replace(/[\0 ]+$/, '');

/** Boot sector (512 bytes) of a FAT volume, or undefined when it is not FAT. */
export function readFatInfo(bootSector: Uint8Array): FatInfo | undefined {
  const b = Buffer.from(bootSector);
  if (b.length < 512 || b.readUInt16LE(510) !== 0xaa55) return undefined;
  const fat32 = b.toString('latin1', 82, 90).startsWith('FAT32');
  const fat16 = b.toString('latin1', 54, 62).startsWith('FAT');
  if (!fat32 && !fat16) return undefined;
  return { label: ascii(fat32 ? b.subarray(71, 82) : b.subarray(43, 54)), fat32 };
}

/** The 1024 bytes of an ext2/3/4 superblock (found 1024 bytes into the partition). */
export function readExt4Info(superblock: Uint8Array): Ext4Info | undefined {
  const b = Buffer.from(superblock);
  if (b.length < 1024 || b.readUInt16LE(0x38) !== 0xef53) return undefined;
  const is64bit = (b.readUInt32LE(0x60) & 0x80) !== 0;
  const hi = (offset: number) => (is64bit ? b.readUInt32LE(offset) * 2 ** 32 : 0);
  return {
    label: ascii(b.subarray(0x78, 0x88)),
    blockSize: 1024 * 2 ** b.readUInt32LE(0x18),
    blocks: b.readUInt32LE(0x04) + hi(0x150),
    freeBlocks: b.readUInt32LE(0x0c) + hi(0x158),
  };
}
