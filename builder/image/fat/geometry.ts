// A FAT volume's boot sector, read in one place: where things are in a FAT16 or FAT32 volume
// (for writing into it), its label (for checking an image's layout); and how much room files take. Pure.
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

/** The volume label, and whether the boot sector calls itself FAT32 (its type string, not its cluster count). */
export interface FatInfo { readonly label: string; readonly fat32: boolean }

/** The fields of a boot sector that anyone here reads. */
interface BootSector {
  readonly sectorBytes: number;
  readonly sectorsPerCluster: number;
  readonly reservedSectors: number;
  readonly fats: number;
  readonly rootEntries: number;
  readonly totalSectors: number;
  readonly fatSectors: number;
  /** FAT32's fields (meaningless on FAT16): the root directory's first cluster, the FSInfo sector. */
  readonly rootCluster: number;
  readonly fsInfoSector: number;
  /** The extended boot record's label, where its type string says FAT (FAT32's at 82, FAT12/16's at 54). */
  readonly info?: FatInfo;
}

const ascii = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1').replace(/[\0 ]+$/, '');

/** The one parser of a boot sector (512 bytes); undefined without the 0x55AA signature. */
function readBootSector(bootSector: Uint8Array): BootSector | undefined {
  const b = Buffer.from(bootSector);
  if (b.length < 512 || b.readUInt16LE(510) !== 0xaa55) return undefined;
  const namedFat32 = b.toString('latin1', 82, 90).startsWith('FAT32');
  const namedFat = namedFat32 || b.toString('latin1', 54, 62).startsWith('FAT');
  return {
    sectorBytes: b.readUInt16LE(11), sectorsPerCluster: b.readUInt8(13), reservedSectors: b.readUInt16LE(14),
    fats: b.readUInt8(16), rootEntries: b.readUInt16LE(17),
    totalSectors: b.readUInt16LE(19) || b.readUInt32LE(32), fatSectors: b.readUInt16LE(22) || b.readUInt32LE(36),
    rootCluster: b.readUInt32LE(44), fsInfoSector: b.readUInt16LE(48),
    ...(namedFat ? { info: { label: ascii(namedFat32 ? b.subarray(71, 82) : b.subarray(43, 54)), fat32: namedFat32 } } : {}),
  };
}

/** A FAT volume's label from its boot sector, or undefined when its type string does not say FAT (FAT12 counts here). */
export const readFatInfo = (bootSector: Uint8Array): FatInfo | undefined => readBootSector(bootSector)?.info;

/** FAT16 or FAT32 geometry from a boot sector; undefined for anything else (FAT12 included). */
export function fatGeometry(bootSector: Uint8Array): FatGeometry | undefined {
  const s = readBootSector(bootSector);
  if (!s) return undefined;
  const { sectorBytes: sector, sectorsPerCluster: perCluster, reservedSectors: reserved, fats, fatSectors } = s;
  if (![512, 1024, 2048, 4096].includes(sector) || !perCluster || (perCluster & (perCluster - 1)) || !fats || !fatSectors || !reserved) return undefined;
  const rootSectors = Math.ceil((s.rootEntries * 32) / sector);
  const clusters = Math.floor((s.totalSectors - reserved - fats * fatSectors - rootSectors) / perCluster);
  if (clusters < 4085) return undefined; // FAT12: not what a Pi boots from
  const fat32 = clusters >= 65525;
  const entryBytes = fat32 ? 4 : 2;
  if (fatSectors * sector < (clusters + 2) * entryBytes) return undefined; // a FAT too short for its clusters
  const rootOffset = (reserved + fats * fatSectors) * sector;
  const fsInfo = fat32 ? s.fsInfoSector : 0;
  return {
    sectorBytes: sector, clusterBytes: sector * perCluster, clusters, fats,
    fatOffset: reserved * sector, fatBytes: fatSectors * sector, entryBytes,
    dataOffset: rootOffset + rootSectors * sector,
    root: fat32 ? { cluster: s.rootCluster } : { offset: rootOffset, bytes: rootSectors * sector },
    ...(fat32 && fsInfo > 0 && fsInfo < reserved ? { fsInfoOffset: fsInfo * sector } : {}),
  };
}

/** Bytes files of these sizes take in one new folder: whole clusters each, plus the folder's entries (long names). */
export function fatBytesFor(sizes: readonly number[], clusterBytes: number): number {
  const clusters = (bytes: number) => Math.max(1, Math.ceil(bytes / clusterBytes));
  const directory = (sizes.length + 2) * 32 * 4; // each entry with up to three long-name slots
  return sizes.reduce((sum, size) => sum + clusters(size) * clusterBytes, 0) + clusters(directory) * clusterBytes;
}
