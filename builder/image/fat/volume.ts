// A FAT16/FAT32 volume inside a file (at a byte offset), edited in process: remove a folder
// whole, create folders, write files (replacing one of the same name), with long names, both
// FAT copies and FSInfo kept right. What Raspberry Pi Imager, Etcher and nobodd do on every OS,
// so a build needs no mtools. Allocation is first-fit from the start and every timestamp is
// REPRODUCIBLE_TIME: the same edits of the same volume give the same bytes.
import { open, type FileHandle } from 'node:fs/promises';
import { REPRODUCIBLE_TIME } from './reproducible-time.js';
import { fatGeometry, type FatGeometry } from './geometry.js';
import { ATTR, ENTRY, longNameEntries, longNamePart, shortEntry, shortNameChecksum, shortNameFor, shortNameText } from './names.js';

/** The volume is damaged, full, or not FAT16/32: nothing we can write into safely. */
export class FatError extends Error {
  override name = 'FatError';
}

interface Dir { readonly cluster: number } // 0: FAT16's fixed root region

interface Entry {
  readonly name: string;
  readonly short: string;
  readonly attr: number;
  readonly cluster: number;
  readonly size: number;
  /** Absolute byte offsets of its slots: long name entries, then the short entry. */
  readonly slots: readonly number[];
}

const PIECE = 4 * 1024 * 1024;

/** Where new data goes on the volume: nearest its start, or nearest its end. */
export type Placement = 'low' | 'high';

export class FatVolume {
  private readonly fat: Buffer;
  private dirty = false;
  private cursor = 2;
  /** With 'high' placement: the lowest cluster handed out so far (the search goes down from there). */
  private highCursor: number;
  /** Counted once at open, then kept as clusters are taken and freed (Ubuntu's FAT has a million). */
  private freeClusters = 0;

  private constructor(private readonly file: FileHandle, private readonly offset: number, readonly geometry: FatGeometry, fat: Buffer,
    private readonly placement: Placement) {
    this.fat = fat;
    this.highCursor = geometry.clusters + 2;
    for (let c = 2; c < geometry.clusters + 2; c++) if (this.get(c) === 0) this.freeClusters++;
  }

  /**
   * `placement` 'high' puts new data in the free clusters nearest the end of the volume (first-fit
   * from the top), 'low' (the default) nearest the start.
   */
  static async open(path: string, offset: number, placement: Placement = 'low'): Promise<FatVolume> {
    const file = await open(path, 'r+');
    try {
      const sector = Buffer.alloc(512);
      await file.read(sector, 0, 512, offset);
      const geometry = fatGeometry(sector);
      if (!geometry) throw new FatError('not a FAT16 or FAT32 filesystem');
      const fat = Buffer.alloc((geometry.clusters + 2) * geometry.entryBytes);
      await file.read(fat, 0, fat.length, offset + geometry.fatOffset);
      return new FatVolume(file, offset, geometry, fat, placement);
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  get freeBytes(): number {
    return this.freeClusters * this.geometry.clusterBytes;
  }

  /** A folder's entries (the root's for ''), or undefined when there is no such folder. */
  async list(path = ''): Promise<{ name: string; folder: boolean; size: number }[] | undefined> {
    const found = segments(path).length ? await this.lookup(path) : undefined;
    if (segments(path).length && !(found && found.attr & ATTR.directory)) return undefined;
    const entries = await this.entries(found ? { cluster: found.cluster } : this.rootDir());
    return entries.map((e) => ({ name: e.name, folder: !!(e.attr & ATTR.directory), size: e.size }));
  }

  /** A file's bytes (for small files: checks and tests), or undefined when there is none. */
  async readFile(path: string): Promise<Buffer | undefined> {
    const found = await this.lookup(path);
    if (!found || found.attr & ATTR.directory) return undefined;
    const bytes = Buffer.alloc(found.size);
    let at = 0;
    for (const cluster of this.chain(found.cluster)) {
      if (at >= found.size) break;
      const length = Math.min(this.geometry.clusterBytes, found.size - at);
      await this.file.read(bytes, at, length, this.offset + this.clusterOffset(cluster));
      at += length;
    }
    if (at < found.size) throw new FatError(`${path}: its cluster chain is shorter than its size`);
    return bytes;
  }

  /** Removes `path` (a file, or a folder with everything in it); false when there is none. */
  async remove(path: string): Promise<boolean> {
    const found = await this.lookup(path);
    if (!found) return false;
    await this.removeEntry(found);
    return true;
  }

  /** Creates the folders of `path` that do not exist yet; returns the last. */
  async mkdirs(path: string): Promise<Dir> {
    let dir: Dir = this.rootDir();
    for (const name of segments(path)) {
      const entries = await this.entries(dir);
      const existing = entries.find((e) => sameName(e.name, name));
      if (existing) {
        if (!(existing.attr & ATTR.directory)) throw new FatError(`${path}: ${name} is a file, not a folder`);
        dir = { cluster: existing.cluster };
        continue;
      }
      const [cluster] = this.allocate(1);
      await this.zeroCluster(cluster!);
      const dot = (text: string, target: number) => shortEntry(Buffer.from(text.padEnd(11), 'latin1'), { attr: ATTR.directory, firstCluster: target, size: 0, time: REPRODUCIBLE_TIME });
      // `..` of a folder in the root names cluster 0, on FAT32 too.
      const parent = dir.cluster === this.rootDir().cluster ? 0 : dir.cluster;
      await this.write(Buffer.concat([dot('.', cluster!), dot('..', parent)]), this.clusterOffset(cluster!));
      await this.place(dir, entries, name, { attr: ATTR.directory, firstCluster: cluster!, size: 0 });
      dir = { cluster: cluster! };
    }
    return dir;
  }

  /** Writes a file at `path` (its folders must exist), replacing one of the same name. */
  async writeFile(path: string, content: { readonly bytes: Uint8Array } | { readonly source: FileHandle; readonly size: number }): Promise<void> {
    const names = segments(path);
    const name = names.pop()!;
    const dir = await this.mkdirs(names.join('/'));
    const old = (await this.entries(dir)).find((e) => sameName(e.name, name));
    if (old) {
      if (old.attr & ATTR.directory) throw new FatError(`${path} is a folder on the volume, not a file`);
      await this.removeEntry(old);
    }
    const size = 'bytes' in content ? content.bytes.length : content.size;
    if (size > 0xffffffff) throw new FatError(`${path}: ${size} bytes is more than a FAT file can hold`);
    const clusters = this.allocate(Math.ceil(size / this.geometry.clusterBytes));
    await this.writeData(clusters, size, content);
    await this.place(dir, await this.entries(dir), name, { attr: ATTR.archive, firstCluster: clusters[0] ?? 0, size });
  }

  /** Writes the FAT to every copy and FSInfo's counts, then closes the file. */
  async close(): Promise<void> {
    try {
      if (this.dirty) {
        const g = this.geometry;
        for (let i = 0; i < g.fats; i++) await this.write(this.fat, g.fatOffset + i * g.fatBytes);
        if (g.fsInfoOffset !== undefined) {
          const info = Buffer.alloc(512);
          await this.file.read(info, 0, 512, this.offset + g.fsInfoOffset);
          if (info.readUInt32LE(0) === 0x41615252 && info.readUInt32LE(484) === 0x61417272) {
            info.writeUInt32LE(this.freeBytes / g.clusterBytes, 488);
            info.writeUInt32LE(this.cursor < g.clusters + 2 ? this.cursor : 0xffffffff, 492);
            await this.write(info, g.fsInfoOffset);
          }
        }
      }
    } finally {
      await this.file.close();
    }
  }

  // --- the FAT -------------------------------------------------------------------------------

  private get(cluster: number): number {
    return this.geometry.entryBytes === 4 ? this.fat.readUInt32LE(cluster * 4) & 0x0fffffff : this.fat.readUInt16LE(cluster * 2);
  }

  private set(cluster: number, value: number): void {
    const was = this.get(cluster);
    if (was === 0 && value !== 0) this.freeClusters--;
    if (was !== 0 && value === 0) this.freeClusters++;
    if (this.geometry.entryBytes === 4) {
      const high = this.fat.readUInt32LE(cluster * 4) & 0xf0000000; // reserved bits stay as they were
      this.fat.writeUInt32LE((high | (value & 0x0fffffff)) >>> 0, cluster * 4);
    } else {
      this.fat.writeUInt16LE(value & 0xffff, cluster * 2);
    }
    this.dirty = true;
  }

  private get endOfChain(): number {
    return this.geometry.entryBytes === 4 ? 0x0fffffff : 0xffff;
  }

  private isData(value: number): boolean {
    return value >= 2 && value < this.geometry.clusters + 2;
  }

  private chain(first: number): number[] {
    const clusters: number[] = [];
    for (let c = first; this.isData(c); c = this.get(c)) {
      if (clusters.length > this.geometry.clusters) throw new FatError(`the cluster chain from ${first} loops: run fsck.fat on the card's image`);
      clusters.push(c);
    }
    return clusters;
  }

  private allocate(count: number): number[] {
    const found: number[] = [];
    const end = this.geometry.clusters + 2;
    if (this.placement === 'high') {
      for (let c = this.highCursor - 1; c >= 2 && found.length < count; c--) if (this.get(c) === 0) found.push(c);
      for (let c = end - 1; c >= this.highCursor && found.length < count; c--) if (this.get(c) === 0) found.push(c);
      found.sort((a, b) => a - b); // a file's chain runs forwards: read in order, contiguous where the space is
    } else {
      for (let c = this.cursor; c < end && found.length < count; c++) if (this.get(c) === 0) found.push(c);
      for (let c = 2; c < this.cursor && found.length < count; c++) if (this.get(c) === 0) found.push(c);
    }
    if (found.length < count)
      throw new FatError(`the volume is full: ${count * this.geometry.clusterBytes} bytes needed, ${this.freeBytes} free`);
    found.forEach((c, i) => this.set(c, found[i + 1] ?? this.endOfChain));
    if (found.length && this.placement === 'high') this.highCursor = Math.min(this.highCursor, found[0]!);
    else if (found.length) this.cursor = found[found.length - 1]! + 1;
    return found;
  }

  private free(first: number): void {
    for (const c of this.chain(first)) this.set(c, 0);
  }

  // --- data ----------------------------------------------------------------------------------

  private clusterOffset(cluster: number): number {
    return this.geometry.dataOffset + (cluster - 2) * this.geometry.clusterBytes;
  }

  private async write(bytes: Uint8Array, at: number): Promise<void> {
    let done = 0;
    while (done < bytes.length) done += (await this.file.write(bytes, done, bytes.length - done, this.offset + at + done)).bytesWritten;
  }

  private async zeroCluster(cluster: number): Promise<void> {
    await this.write(Buffer.alloc(this.geometry.clusterBytes), this.clusterOffset(cluster));
  }

  /** Copies the content into `clusters` run by run of adjacent clusters; each last cluster's tail is zeroed. */
  private async writeData(clusters: readonly number[], size: number, content: { readonly bytes: Uint8Array } | { readonly source: FileHandle }): Promise<void> {
    const bytesPer = this.geometry.clusterBytes;
    const piece = Buffer.alloc(Math.min(PIECE, Math.max(bytesPer, clusters.length * bytesPer)));
    let position = 0;
    for (let i = 0; i < clusters.length;) {
      let run = 1;
      while (i + run < clusters.length && clusters[i + run] === clusters[i]! + run && run * bytesPer < piece.length) run++;
      const length = run * bytesPer;
      piece.fill(0, 0, length);
      const wanted = Math.min(length, size - position);
      if ('bytes' in content) Buffer.from(content.bytes.buffer, content.bytes.byteOffset + position, wanted).copy(piece);
      else {
        let got = 0;
        while (got < wanted) {
          const { bytesRead } = await content.source.read(piece, got, wanted - got, position + got);
          if (bytesRead === 0) throw new FatError('a file being copied onto the volume got shorter meanwhile');
          got += bytesRead;
        }
      }
      await this.write(piece.subarray(0, length), this.clusterOffset(clusters[i]!));
      position += wanted;
      i += run;
    }
  }

  // --- directories ---------------------------------------------------------------------------

  private rootDir(): Dir {
    const root = this.geometry.root;
    return { cluster: 'cluster' in root ? root.cluster : 0 };
  }

  /** Absolute offsets of a folder's regions: its clusters, or FAT16's fixed root. */
  private regions(dir: Dir): { offset: number; bytes: number }[] {
    const root = this.geometry.root;
    if (dir.cluster === 0 && 'offset' in root) return [{ offset: root.offset, bytes: root.bytes }];
    return this.chain(dir.cluster).map((c) => ({ offset: this.clusterOffset(c), bytes: this.geometry.clusterBytes }));
  }

  private async slots(dir: Dir): Promise<{ at: number[]; bytes: Buffer }> {
    const parts: Buffer[] = [];
    const at: number[] = [];
    for (const region of this.regions(dir)) {
      const bytes = Buffer.alloc(region.bytes);
      await this.file.read(bytes, 0, region.bytes, this.offset + region.offset);
      parts.push(bytes);
      for (let i = 0; i < region.bytes; i += ENTRY) at.push(region.offset + i);
    }
    return { at, bytes: Buffer.concat(parts) };
  }

  private async entries(dir: Dir): Promise<Entry[]> {
    const { at, bytes } = await this.slots(dir);
    const entries: Entry[] = [];
    let long: { parts: string[]; checksum: number; slots: number[] } | undefined;
    for (let i = 0; i < at.length; i++) {
      const e = bytes.subarray(i * ENTRY, (i + 1) * ENTRY);
      if (e[0] === 0x00) break;
      if (e[0] === 0xe5) { long = undefined; continue; }
      if (e[11] === ATTR.longName) {
        if (e[0]! & 0x40) long = { parts: [], checksum: e[13]!, slots: [] };
        if (long) { long.parts.push(longNamePart(e)); long.slots.push(at[i]!); }
        continue;
      }
      if (e[11]! & ATTR.volumeId) { long = undefined; continue; }
      const short = e.subarray(0, 11);
      const text = short.toString('latin1');
      if (text === '.          ' || text === '..         ') { long = undefined; continue; }
      const name = long && long.checksum === shortNameChecksum(short) ? long.parts.reverse().join('') : shortNameText(e);
      const cluster = (this.geometry.entryBytes === 4 ? e.readUInt16LE(20) << 16 : 0) | e.readUInt16LE(26);
      entries.push({ name, short: text, attr: e[11]!, cluster: cluster >>> 0, size: e.readUInt32LE(28), slots: [...(long?.checksum === shortNameChecksum(short) ? long.slots : []), at[i]!] });
      long = undefined;
    }
    return entries;
  }

  private async lookup(path: string): Promise<Entry | undefined> {
    let dir = this.rootDir();
    let found: Entry | undefined;
    for (const name of segments(path)) {
      if (found && !(found.attr & ATTR.directory)) return undefined;
      found = (await this.entries(dir)).find((e) => sameName(e.name, name));
      if (!found) return undefined;
      dir = { cluster: found.cluster };
    }
    return found;
  }

  private async removeEntry(entry: Entry): Promise<void> {
    if (entry.attr & ATTR.directory) for (const child of await this.entries({ cluster: entry.cluster })) await this.removeEntry(child);
    if (this.isData(entry.cluster)) this.free(entry.cluster);
    for (const slot of entry.slots) await this.write(Buffer.of(0xe5), slot);
  }

  /** Writes `name`'s long and short entries into the first run of free slots, growing the folder if it must. */
  private async place(dir: Dir, entries: readonly Entry[], name: string, o: { attr: number; firstCluster: number; size: number }): Promise<void> {
    if (entries.some((e) => sameName(e.name, name))) throw new FatError(`${name} exists already`);
    const short = shortNameFor(name, new Set(entries.map((e) => e.short)));
    const records = [...(short.toString('latin1') === plainShort(name) ? [] : longNameEntries(name, short)),
      shortEntry(short, { ...o, time: REPRODUCIBLE_TIME })];
    for (;;) {
      const { at, bytes } = await this.slots(dir);
      let end = at.length; // slots from the first 0x00 on are all free
      let run = 0;
      for (let i = 0; i < at.length; i++) {
        if (i < end && bytes[i * ENTRY] === 0x00) end = i;
        run = i >= end || bytes[i * ENTRY] === 0xe5 ? run + 1 : 0;
        if (run === records.length) {
          const first = i - run + 1;
          for (const [k, record] of records.entries()) await this.write(record, at[first + k]!);
          if (i >= end && i + 1 < at.length) await this.write(Buffer.of(0x00), at[i + 1]!); // the folder ends after us
          return;
        }
      }
      if (dir.cluster === 0 && 'offset' in this.geometry.root) throw new FatError('the root folder is full (FAT16 has a fixed number of root entries)');
      const [added] = this.allocate(1);
      await this.zeroCluster(added!);
      const chain = this.chain(dir.cluster);
      this.set(chain[chain.length - 1]!, added!);
      this.set(added!, this.endOfChain);
    }
  }
}

const segments = (path: string): string[] => path.split('/').filter(Boolean);
const sameName = (a: string, b: string): boolean => a.toUpperCase() === b.toUpperCase();
/** `name` as the 11 bytes of a plain 8.3 entry would read, to tell whether it needs a long name. */
const plainShort = (name: string): string => {
  const [base = '', ext = ''] = name.split('.');
  return base.padEnd(8) + ext.padEnd(3);
};
