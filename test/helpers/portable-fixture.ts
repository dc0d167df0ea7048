// A small Raspberry-Pi-like disk image made in process, with no system program, for the tests
// that run on macOS and Windows too: an MBR, p1 a FAT32 `system-boot` with Ubuntu's 512-byte
// clusters formatted here (the fields mkfs.vfat writes) and a stock seed written with our FAT
// writer, p2 stand-in bytes for `writable` behind a real ext4 superblock (labels and sizes are
// all the builder reads there; it never writes to it).
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { writeFatFiles } from '../../builder/image/fat/write-files.js';

const SECTOR = 512;
const MiB = 1024 * 1024;

/** A FAT32 boot sector, FSInfo and empty FATs for `sectors` sectors of 512 bytes, one per cluster. */
function fat32(sectors: number, label: string): { head: Buffer; fats: Buffer; fatSectors: number; reserved: number } {
  const reserved = 32;
  let fatSectors = 1;
  while (Math.ceil(((sectors - reserved - 2 * fatSectors) + 2) * 4 / SECTOR) > fatSectors) fatSectors++;
  const boot = Buffer.alloc(SECTOR);
  boot.set([0xeb, 0x58, 0x90]);
  boot.write('mkfs.fat', 3, 'latin1');
  boot.writeUInt16LE(SECTOR, 11);
  boot[13] = 1; // sectors per cluster
  boot.writeUInt16LE(reserved, 14);
  boot[16] = 2; // FATs
  boot[21] = 0xf8;
  boot.writeUInt16LE(32, 24);
  boot.writeUInt16LE(64, 26);
  boot.writeUInt32LE(sectors, 32);
  boot.writeUInt32LE(fatSectors, 36);
  boot.writeUInt32LE(2, 44); // root folder cluster
  boot.writeUInt16LE(1, 48); // FSInfo sector
  boot.writeUInt16LE(6, 50); // backup boot sector
  boot[64] = 0x80;
  boot[66] = 0x29;
  boot.writeUInt32LE(0x5eed0001, 67);
  boot.write(label.padEnd(11), 71, 'latin1'); // as given: Ubuntu's is lower case
  boot.write('FAT32   ', 82, 'latin1');
  boot.writeUInt16LE(0xaa55, 510);
  const info = Buffer.alloc(SECTOR);
  info.writeUInt32LE(0x41615252, 0);
  info.writeUInt32LE(0x61417272, 484);
  info.writeUInt32LE(sectors - reserved - 2 * fatSectors - 1, 488);
  info.writeUInt32LE(3, 492);
  info.writeUInt32LE(0xaa550000, 508);
  const head = Buffer.alloc(reserved * SECTOR);
  boot.copy(head, 0);
  info.copy(head, SECTOR);
  boot.copy(head, 6 * SECTOR);
  info.copy(head, 7 * SECTOR);
  const fats = Buffer.alloc(2 * fatSectors * SECTOR);
  for (const at of [0, fatSectors * SECTOR]) {
    fats.writeUInt32LE(0x0ffffff8, at);
    fats.writeUInt32LE(0x0fffffff, at + 4);
    fats.writeUInt32LE(0x0fffffff, at + 8); // the root folder's one cluster
  }
  return { head, fats, fatSectors, reserved };
}

/** Writes the image at `path`: `bootMiB` of FAT32, `rootMiB` of stand-in root. Returns the root's SHA-256. */
export async function makePortableRaspiImage(path: string, o: { bootMiB?: number; rootMiB?: number } = {}): Promise<string> {
  const bootMiB = o.bootMiB ?? 64;
  const rootMiB = o.rootMiB ?? 16;
  const bootStart = 2048;
  const bootSectors = bootMiB * 2048;
  const rootStart = bootStart + bootSectors;
  const rootSectors = rootMiB * 2048;
  const file = await open(path, 'w', 0o644);
  try {
    const mbr = Buffer.alloc(SECTOR);
    const entry = (slot: number, boot: boolean, type: number, start: number, count: number) => {
      const at = 446 + slot * 16;
      mbr[at] = boot ? 0x80 : 0;
      mbr[at + 4] = type;
      mbr.writeUInt32LE(start, at + 8);
      mbr.writeUInt32LE(count, at + 12);
    };
    entry(0, true, 0x0c, bootStart, bootSectors);
    entry(1, false, 0x83, rootStart, rootSectors);
    mbr.writeUInt32LE(0x5eed0001, 440);
    mbr.writeUInt16LE(0xaa55, 510);
    await file.write(mbr, 0, SECTOR, 0);
    const { head, fats, fatSectors, reserved } = fat32(bootSectors, 'system-boot');
    await file.write(head, 0, head.length, bootStart * SECTOR);
    await file.write(fats, 0, fats.length, (bootStart + reserved) * SECTOR);
    const rootFolder = Buffer.alloc(SECTOR); // its first entry: the volume label, as mkfs.vfat writes it
    rootFolder.write('system-boot'.padEnd(11), 0, 'latin1');
    rootFolder[11] = 0x08;
    await file.write(rootFolder, 0, SECTOR, (bootStart + reserved + 2 * fatSectors) * SECTOR);
    // writable: deterministic bytes, with an ext4 superblock 1024 bytes in.
    const root = Buffer.alloc(rootMiB * MiB);
    for (let i = 0; i < root.length; i += 32) createHash('sha256').update(`writable ${i}`).digest().copy(root, i);
    const superblock = Buffer.alloc(1024);
    superblock.writeUInt32LE((rootMiB * MiB) / 4096, 0x04);
    superblock.writeUInt32LE(10, 0x0c);
    superblock.writeUInt32LE(2, 0x18); // 4096-byte blocks
    superblock.writeUInt16LE(0xef53, 0x38);
    superblock.write('writable', 0x78, 'latin1');
    superblock.copy(root, 1024);
    await file.write(root, 0, root.length, rootStart * SECTOR);
    await file.truncate((rootStart + rootSectors) * SECTOR);
  } finally {
    await file.close();
  }
  await writeFatFiles(path, bootStart * SECTOR, [
    { name: 'config.txt', content: '[all]\narm_64bit=1\nkernel=vmlinuz\n' },
    { name: 'cmdline.txt', content: 'console=serial0,115200 root=LABEL=writable rootfstype=ext4 rootwait fixrtc\n' },
    { name: 'user-data', content: '#cloud-config\nchpasswd:\n  expire: true\n' },
    { name: 'meta-data', content: 'instance_id: cloud-image\n' },
    { name: 'network-config', content: 'network:\n  version: 2\n' },
  ]);
  const hash = createHash('sha256');
  const check = await open(path, 'r');
  try {
    const root = Buffer.alloc(rootMiB * MiB);
    await check.read(root, 0, root.length, rootStart * SECTOR);
    hash.update(root);
  } finally {
    await check.close();
  }
  return hash.digest('hex');
}
