// Just enough of an ext4 superblock to check its label and free space. Pure. (A FAT volume's
// label comes from its boot sector: fat/geometry.ts.)

export interface Ext4Info { readonly label: string; readonly blockSize: number; readonly blocks: number; readonly freeBlocks: number }

const ascii = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1').replace(/[\0 ]+$/, '');

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
