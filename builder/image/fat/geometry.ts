// Where things are in a FAT16 or FAT32 volume, from its boot sector; and how much room files take. Pure.
export interface FatGeometry {
  readonly sectorBytes: number;
  readonly clusterBytes: number;
  /** Data clusters: numbered 2 .. clusters + 1. */
  readonly clusters: number;
  /** Where the first FAT starts and how long each copy is, in bytes from the volume's start. */
  readonly fatOffset: number;
  readonly fatBytes: number;
  readonly fats: number;
  readonly entryBytes: 2 | 4;
  readonly dataOffset: number;
  /** FAT32: the root directory's first cluster. FAT16: the fixed root region. */
  readonly root: { readonly cluster: number } | { readonly offset: number; readonly bytes: number };
  /** FAT32's FSInfo sector, in bytes from the volume's start. */
  readonly fsInfoOffset?: number;
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
  if (![512, 1024, 2048, 4096].includes(sector) || !perCluster || (perCluster & (perCluster - 1)) || !fats || !fatSectors || !reserved) return undefined;
  const rootSectors = Math.ceil((rootEntries * 32) / sector);
  const clusters = Math.floor((total - reserved - fats * fatSectors - rootSectors) / perCluster);
  if (clusters < 4085) return undefined; // FAT12: not what a Pi boots from
  const fat32 = clusters >= 65525;
  const entryBytes = fat32 ? 4 : 2;
  if (fatSectors * sector < (clusters + 2) * entryBytes) return undefined; // a FAT too short for its clusters
  const rootOffset = (reserved + fats * fatSectors) * sector;
  const fsInfo = fat32 ? b.readUInt16LE(48) : 0;
  return {
    sectorBytes: sector, clusterBytes: sector * perCluster, clusters, fats,
    fatOffset: reserved * sector, fatBytes: fatSectors * sector, entryBytes,
    dataOffset: rootOffset + rootSectors * sector,
    root: fat32 ? { cluster: b.readUInt32LE(44) } : { offset: rootOffset, bytes: rootSectors * sector },
    ...(fat32 && fsInfo > 0 && fsInfo < reserved ? { fsInfoOffset: fsInfo * sector } : {}),
  };
}

/** Bytes files of these sizes take in one new folder: whole clusters each, plus the folder's entries (long names). */
export function fatBytesFor(sizes: readonly number[], clusterBytes: number): number {
  const clusters = (bytes: number) => Math.max(1, Math.ceil(bytes / clusterBytes));
  const directory = (sizes.length + 2) * 32 * 4; // each entry with up to three long-name slots
  return sizes.reduce((sum, size) => sum + clusters(size) * clusterBytes, 0) + clusters(directory) * clusterBytes;
}
