// How much room a FAT volume has, and how much a set of files takes there, from its boot sector
// and its first FAT (FSInfo's free count is only a hint, so the table itself is counted).
import type { FileHandle } from 'node:fs/promises';

export interface FatGeometry {
  readonly clusterBytes: number;
  readonly clusters: number;
  /** Where the first FAT starts and how long it is, in bytes from the volume's start. */
  readonly fatOffset: number;
  readonly fatBytes: number;
  readonly entryBytes: 2 | 4;
}

/** FAT16 or FAT32 geometry from a boot sector; undefined for anything else (FAT12 included). */
export function fatGeometry(bootSector: Uint8Array): FatGeometry | undefined {
  const b = Buffer.from(bootSector);
  if (b.length < 512 || b.readUInt16LE(510) !== 0xaa55) return undefined;
  const sector = b.readUInt16LE(11);
  const perCluster = b.readUInt8(13);
  const reserved = b.readUInt16LE(14);
  const fats = b.readUInt8(16);
  const rootEntries = b.readUInt16LE(17);
  const total = b.readUInt16LE(19) || b.readUInt32LE(32);
  const fatSectors = b.readUInt16LE(22) || b.readUInt32LE(36);
  if (![512, 1024, 2048, 4096].includes(sector) || !perCluster || !fats || !fatSectors) return undefined;
  const rootSectors = Math.ceil((rootEntries * 32) / sector);
  const clusters = Math.floor((total - reserved - fats * fatSectors - rootSectors) / perCluster);
  if (clusters < 4085) return undefined; // FAT12: not what a Pi boots from
  const entryBytes = clusters < 65525 ? 2 : 4;
  return { clusterBytes: sector * perCluster, clusters, fatOffset: reserved * sector, fatBytes: fatSectors * sector, entryBytes };
}

/** Free bytes of the volume at `offset` in `file`: its free clusters, counted in the first FAT. */
export async function fatFreeBytes(file: FileHandle, offset: number, geometry: FatGeometry): Promise<number> {
  const piece = Buffer.alloc(1024 * 1024);
  let free = 0;
  let entry = 0;
  const last = geometry.clusters + 2; // entries 0 and 1 are reserved
  for (let at = 0; at < geometry.fatBytes && entry < last; at += piece.length) {
    const { bytesRead } = await file.read(piece, 0, Math.min(piece.length, geometry.fatBytes - at), offset + geometry.fatOffset + at);
    for (let i = 0; i + geometry.entryBytes <= bytesRead && entry < last; i += geometry.entryBytes, entry++) {
      if (entry < 2) continue;
      const value = geometry.entryBytes === 4 ? piece.readUInt32LE(i) & 0x0fffffff : piece.readUInt16LE(i);
      if (value === 0) free++;
    }
  }
  return free * geometry.clusterBytes;
}

/** Bytes files of these sizes take in one new folder: whole clusters each, plus the folder's entries (long names). */
export function fatBytesFor(sizes: readonly number[], clusterBytes: number): number {
  const clusters = (bytes: number) => Math.max(1, Math.ceil(bytes / clusterBytes));
  const directory = (sizes.length + 2) * 32 * 4; // each entry with up to three long-name slots
  return sizes.reduce((sum, size) => sum + clusters(size) * clusterBytes, 0) + clusters(directory) * clusterBytes;
}
