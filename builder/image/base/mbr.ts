// The MBR partition table of a disk image: parsed from, and patched in, its first sector. Pure.

export const SECTOR = 512;

export interface MbrPartition {
  /** 1-based, as Linux numbers them (p1, p2). */
  readonly number: number;
  readonly type: number;
  readonly startSector: number;
  readonly sectors: number;
}

export class MbrError extends Error {
  override name = 'MbrError';
}

const ENTRY_OFFSET = 446;
const ENTRY_SIZE = 16;

export function parseMbr(sector0: Uint8Array): MbrPartition[] {
  if (sector0.length < SECTOR) throw new MbrError('the image is smaller than one sector');
  const view = new DataView(sector0.buffer, sector0.byteOffset, SECTOR);
  if (view.getUint16(510, true) !== 0xaa55) throw new MbrError('there is no MBR partition table (no 0x55AA signature)');
  const partitions: MbrPartition[] = [];
  for (let i = 0; i < 4; i++) {
    const at = ENTRY_OFFSET + i * ENTRY_SIZE;
    const type = view.getUint8(at + 4);
    const startSector = view.getUint32(at + 8, true);
    const sectors = view.getUint32(at + 12, true);
    if (type === 0xee) throw new MbrError('the image uses a GPT partition table; only MBR images are supported');
    if (type !== 0 && sectors > 0) partitions.push({ number: i + 1, type, startSector, sectors });
  }
  return partitions;
}

/** A copy of sector 0 with one partition's length changed (CHS fields are left as LBA-only tools leave them). */
export function withPartitionSectors(sector0: Uint8Array, number: number, sectors: number): Uint8Array {
  const copy = new Uint8Array(sector0.subarray(0, SECTOR));
  new DataView(copy.buffer).setUint32(ENTRY_OFFSET + (number - 1) * ENTRY_SIZE + 12, sectors, true);
  return copy;
}
