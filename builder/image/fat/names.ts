// Directory entries of FAT: 8.3 short names (with the ~N tail Windows and Linux make), the long
// name entries (VFAT) that carry the real name, and the DOS date and time. Pure.

export const ENTRY = 32;
export const ATTR = { readOnly: 0x01, hidden: 0x02, system: 0x04, volumeId: 0x08, directory: 0x10, archive: 0x20, longName: 0x0f } as const;
const CHARS_PER_LONG_ENTRY = 13;
// Characters a short name may not hold (besides controls and space); `+,;=[]` are valid in long names only.
const SHORT_INVALID = /[^A-Z0-9!#$%&'()@^_`{}~\-\u0080-\u00ff]/g;

/** The 11 bytes of a short name, upper case, padded with spaces. */
export type ShortName = Buffer;

/** Is `name` exactly representable as an upper-case 8.3 name (so it needs no long name)? */
export function isPlainShortName(name: string): boolean {
  const m = /^([^.]{1,8})(?:\.([^.]{1,3}))?$/.exec(name);
  return !!m && name === name.toUpperCase() && !name.replace('.', '').replace(SHORT_INVALID, '?').includes('?');
}

/** The short name for `name`: itself when it is a plain 8.3 name, else a basis with `~N` not in `taken`. */
export function shortNameFor(name: string, taken: ReadonlySet<string>): ShortName {
  if (isPlainShortName(name)) {
    const [base, ext = ''] = name.split('.');
    return Buffer.from(base!.padEnd(8) + ext.padEnd(3), 'latin1');
  }
  const clean = (s: string) => s.toUpperCase().replace(/[ .]/g, '').replace(SHORT_INVALID, '_');
  const dot = name.lastIndexOf('.');
  const base = clean(dot > 0 ? name.slice(0, dot) : name) || '_';
  const ext = dot > 0 ? clean(name.slice(dot + 1)).slice(0, 3) : '';
  for (let n = 1; n < 1_000_000; n++) {
    const tail = `~${n}`;
    const candidate = base.slice(0, 8 - tail.length) + tail;
    const bytes = Buffer.from(candidate.padEnd(8) + ext.padEnd(3), 'latin1');
    if (!taken.has(bytes.toString('latin1'))) return bytes;
  }
  throw new Error(`no free short name for ${name}`);
}

/** The checksum of a short name that every long name entry of it carries. */
export function shortNameChecksum(short: ShortName): number {
  let sum = 0;
  for (const byte of short) sum = (((sum & 1) << 7) + (sum >> 1) + byte) & 0xff;
  return sum;
}

/** The long name entries for `name`, in the order they are stored (the last part first). */
export function longNameEntries(name: string, short: ShortName): Buffer[] {
  const units = Buffer.byteLength(name, 'utf16le') / 2;
  const count = Math.ceil(units / CHARS_PER_LONG_ENTRY);
  const padded = Buffer.alloc(count * CHARS_PER_LONG_ENTRY * 2, 0xff);
  Buffer.from(name, 'utf16le').copy(padded);
  if (units % CHARS_PER_LONG_ENTRY) padded.writeUInt16LE(0, units * 2); // terminated, then 0xFFFF padding
  const checksum = shortNameChecksum(short);
  const entries: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const e = Buffer.alloc(ENTRY);
    const part = padded.subarray(i * 26, i * 26 + 26);
    e[0] = (i + 1) | (i === count - 1 ? 0x40 : 0);
    part.copy(e, 1, 0, 10);
    e[11] = ATTR.longName;
    e[13] = checksum;
    part.copy(e, 14, 10, 22);
    part.copy(e, 28, 22, 26);
    entries.unshift(e);
  }
  return entries;
}

/** The characters one long name entry holds, in order (the terminator and padding dropped later). */
export function longNamePart(entry: Buffer): string {
  const units = Buffer.concat([entry.subarray(1, 11), entry.subarray(14, 26), entry.subarray(28, 32)]);
  let text = '';
  for (let i = 0; i < units.length; i += 2) {
    const unit = units.readUInt16LE(i);
    if (unit === 0 || unit === 0xffff) break;
    text += String.fromCharCode(unit);
  }
  return text;
}

/** A short name as a file name (`NAME.EXT`, lower-cased where the entry's case flags say so). */
export function shortNameText(entry: Buffer): string {
  const flags = entry[12]!;
  let base = entry.toString('latin1', 0, 8).trimEnd();
  let ext = entry.toString('latin1', 8, 11).trimEnd();
  if (base.charCodeAt(0) === 0x05) base = `\u00e5${base.slice(1)}`;
  if (flags & 0x08) base = base.toLowerCase();
  if (flags & 0x10) ext = ext.toLowerCase();
  return ext ? `${base}.${ext}` : base;
}

/** DOS date and time (2-second steps, local time taken as UTC) of a Unix time in seconds. */
export function dosDateTime(unixSeconds: number): { date: number; time: number } {
  const d = new Date(unixSeconds * 1000);
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  };
}

/** A short (8.3) directory entry. */
export function shortEntry(short: ShortName, o: { attr: number; firstCluster: number; size: number; time: number }): Buffer {
  const e = Buffer.alloc(ENTRY);
  short.copy(e, 0);
  e[11] = o.attr;
  const { date, time } = dosDateTime(o.time);
  e.writeUInt16LE(time, 14); // created
  e.writeUInt16LE(date, 16);
  e.writeUInt16LE(date, 18); // accessed
  e.writeUInt16LE(o.firstCluster >>> 16, 20);
  e.writeUInt16LE(time, 22); // written
  e.writeUInt16LE(date, 24);
  e.writeUInt16LE(o.firstCluster & 0xffff, 26);
  e.writeUInt32LE(o.size, 28);
  return e;
}
