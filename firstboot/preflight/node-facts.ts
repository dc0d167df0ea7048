// What a node is, read from the tools' own machine-readable output: NICs (`ip -j addr`), block
// devices (`lsblk -J`), snapd's version, memory and the kernel's modules. Pure parsers; the
// preflight step runs the commands.
import type { DiskFacts } from '../../builder/config/disk-filter.js';

export interface Nic {
  readonly name: string;
  readonly mac?: string;
  /** Administratively up (the UP flag); the cable may still be out. */
  readonly up: boolean;
  /** Global-scope addresses (a link-local IPv6 address is not one MicroCloud minds). */
  readonly addresses: readonly string[];
  readonly driver?: string;
}

export interface BlockDevice {
  readonly path: string;
  readonly name: string;
  readonly type: string;
  readonly size: number;
  readonly readOnly: boolean;
  readonly removable: boolean;
  readonly rotational: boolean;
  readonly model: string;
  readonly serial: string;
  readonly wwn: string;
  readonly transport: string;
  readonly device: string;
  readonly blockSize: number;
  readonly firmware: string;
  readonly mountpoints: readonly string[];
  readonly fstype: string;
  readonly pttype: string;
  readonly children: readonly BlockDevice[];
}

export interface NodeFacts {
  readonly nics: readonly Nic[];
  readonly blockDevices: readonly BlockDevice[];
  /** Configured disk path -> the device it resolves to (absent: no such path). */
  readonly diskPaths: Readonly<Record<string, string | undefined>>;
  readonly snapdVersion?: string;
  readonly memoryMiB?: number;
  /** Module name -> the running kernel can load it (or has it built in). */
  readonly modules: Readonly<Record<string, boolean>>;
}

export const LSBLK_COLUMNS = 'NAME,KNAME,TYPE,SIZE,RO,RM,ROTA,MODEL,SERIAL,WWN,TRAN,MAJ:MIN,LOG-SEC,REV,MOUNTPOINTS,FSTYPE,PTTYPE';

interface IpLink { ifname: string; address?: string; flags?: string[]; addr_info?: { local?: string; scope?: string }[] }

export function parseIpAddr(json: string): Nic[] {
  const links = JSON.parse(json || '[]') as IpLink[];
  return links.filter((l) => l.ifname !== 'lo').map((l) => ({
    name: l.ifname,
    ...(l.address ? { mac: l.address.toLowerCase() } : {}),
    up: (l.flags ?? []).includes('UP'),
    addresses: (l.addr_info ?? []).filter((a) => a.local && a.scope !== 'link' && a.scope !== 'host').map((a) => a.local!),
  }));
}

// lsblk before 2.38 writes booleans and sizes as strings; after, as JSON booleans and numbers.
const bool = (v: unknown): boolean => v === true || v === '1' || v === 1;
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v ?? 0) || 0);
const text = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');

function blockDevice(raw: Record<string, unknown>): BlockDevice {
  const mountpoints = Array.isArray(raw.mountpoints) ? raw.mountpoints : [raw.mountpoint];
  return {
    path: text(raw.name), name: text(raw.kname) || text(raw.name).replace(/^\/dev\//, ''), type: text(raw.type),
    size: num(raw.size), readOnly: bool(raw.ro), removable: bool(raw.rm), rotational: bool(raw.rota),
    model: text(raw.model), serial: text(raw.serial), wwn: text(raw.wwn), transport: text(raw.tran),
    device: text(raw['maj:min']), blockSize: num(raw['log-sec']), firmware: text(raw.rev),
    mountpoints: mountpoints.filter((m): m is string => typeof m === 'string' && m !== ''),
    fstype: text(raw.fstype), pttype: text(raw.pttype),
    children: Array.isArray(raw.children) ? (raw.children as Record<string, unknown>[]).map(blockDevice) : [],
  };
}

export const parseLsblk = (json: string): BlockDevice[] =>
  ((JSON.parse(json || '{}') as { blockdevices?: Record<string, unknown>[] }).blockdevices ?? []).map(blockDevice);

/** The device and everything on it, depth first. */
export const allOf = (d: BlockDevice): BlockDevice[] => [d, ...d.children.flatMap(allOf)];

/** `snap version`: "snapd   2.63+24.04ubuntu0.1". */
export const parseSnapdVersion = (output: string): string | undefined => /^snapd\s+(\S+)/m.exec(output)?.[1];

export function parseMemTotalMiB(meminfo: string): number | undefined {
  const kib = /^MemTotal:\s+(\d+)\s+kB/m.exec(meminfo)?.[1];
  return kib === undefined ? undefined : Math.floor(Number(kib) / 1024);
}

/** Module names in modules.dep / modules.builtin ("kernel/drivers/md/dm-crypt.ko.zst: ..."), as modprobe spells them. */
export function moduleNames(listing: string): Set<string> {
  const names = new Set<string>();
  for (const line of listing.split('\n')) {
    const match = /([^/\s:]+)\.ko(?:\.\w+)?:?/.exec(line.split(':')[0] ?? '');
    if (match) names.add(match[1]!.replace(/-/g, '_'));
  }
  return names;
}

/** Numeric comparison of dotted versions, ignoring a distribution suffix (2.63+24.04ubuntu0.1). */
export function versionAtLeast(have: string, want: string): boolean {
  const parts = (v: string) => (/^[\d.]+/.exec(v)?.[0] ?? '0').split('.').filter(Boolean).map(Number);
  const [a, b] = [parts(have), parts(want)];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/** A disk as LXD's resources API would describe it, for MicroCloud's disk filter. */
export function diskFacts(d: BlockDevice): DiskFacts {
  const type = d.transport || (d.name.startsWith('vd') ? 'virtio' : d.name.startsWith('mmcblk') ? 'mmc' : d.name.startsWith('nvme') ? 'nvme' : '');
  return {
    id: d.name, device: d.device, model: d.model, type, read_only: d.readOnly, removable: d.removable,
    size: d.size, wwn: d.wwn, serial: d.serial, block_size: d.blockSize, firmware_version: d.firmware,
    rpm: d.rotational ? 1 : 0, numa_node: 0, mounted: allOf(d).some((x) => x.mountpoints.length > 0),
  };
}
