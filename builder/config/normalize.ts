// Raw (schema-valid) cluster file -> Cluster, with every default applied. Pure.
// The schema's formats already proved every CIDR and range parses.
import { RELEASE_CHANNELS } from './channels.js';
import { DEFAULTS } from './defaults.js';
import { parseCidr, parseEndpoint, parseRange } from './ipv4.js';
import type { RawCluster, RawDisk, RawDiskFilter, RawNode } from './raw-cluster.js';
import type { Cidr, Cluster, ClusterNode, DedicatedNic, Disk, DiskFilter, NicMatch, SnapSource, Uplink } from './types.js';

const cidr = (text: string): Cidr => parseCidr(text)!;

export function normalizeDisk(raw: RawDisk): Disk {
  return typeof raw === 'string'
    ? { path: raw, wipe: false, encrypt: false }
    : { path: raw.path, wipe: raw.wipe ?? false, encrypt: raw.encrypt ?? false };
}

/** MicroCloud's own defaults: local find_min 1; Ceph has none (the rules demand one). */
function normalizeDiskFilter(raw: RawDiskFilter, kind: 'local' | 'ceph'): DiskFilter {
  return {
    find: raw.find.trim(),
    findMin: raw.find_min ?? (kind === 'local' ? 1 : 0),
    findMax: raw.find_max ?? 0,
    wipe: raw.wipe ?? false,
    encrypt: raw.encrypt ?? false,
  };
}

const normalizeDedicatedNic = (raw: NonNullable<RawNode['nics']>[number]): DedicatedNic => ({
  nic: raw.mac ? { name: raw.interface, macaddress: raw.mac.toLowerCase() } : { name: raw.interface },
  address: raw.address,
});

function normalizeUplink(raw: NonNullable<RawNode['uplink']>): Uplink {
  const name = raw.interface ?? DEFAULTS.uplinkInterfaceByMac;
  const nic: NicMatch = raw.mac ? { name, macaddress: raw.mac.toLowerCase() } : { name };
  const mode = raw.mode ?? DEFAULTS.uplinkMode;
  return mode === 'bridge' ? { nic, mode, bridge: raw.bridge ?? DEFAULTS.bridgeName } : { nic, mode };
}

/** The raw rules have made sure a bundle names its server and the store names none. */
function normalizeSnapSource(raw: NonNullable<RawCluster['microcloud']>['snaps']): SnapSource {
  const source = raw?.source ?? DEFAULTS.snapSource;
  if (source === 'store') return { kind: 'store' };
  return { kind: 'bundle', server: parseEndpoint(raw!.server!, DEFAULTS.bundleServerPort)! };
}

function normalizeNode(raw: RawNode, index: number, cluster: RawCluster, initiatorIndex: number): ClusterNode {
  const intraName = raw.interface ?? cluster.network.interface ?? DEFAULTS.intraInterface;
  const intraNic: NicMatch = raw.mac
    ? { name: intraName, macaddress: raw.mac.toLowerCase() }
    : cluster.network.driver ? { name: intraName, driver: cluster.network.driver } : { name: intraName };
  return {
    index,
    name: raw.name,
    fqdn: `${raw.name}.${cluster.cluster.domain}`,
    address: raw.address,
    intraNic,
    ...(raw.uplink ? { uplink: normalizeUplink(raw.uplink) } : {}),
    ...(raw.disks?.local !== undefined ? { localDisk: normalizeDisk(raw.disks.local) } : {}),
    cephDisks: (raw.disks?.ceph ?? []).map(normalizeDisk),
    ...(raw.underlay_address ? { underlayAddress: raw.underlay_address } : {}),
    dedicatedNics: (raw.nics ?? []).map(normalizeDedicatedNic),
    initiator: index === initiatorIndex,
  };
}

export function normalizeCluster(raw: RawCluster): Cluster {
  const flagged = raw.nodes.findIndex((node) => node.initiator === true);
  const initiatorIndex = flagged === -1 ? 0 : flagged; // the rules reject more than one flag
  const mc = raw.microcloud ?? {};
  const release = mc.release ?? DEFAULTS.release;
  const ovn = mc.ovn ?? {};
  const ceph = mc.ceph ?? {};
  return {
    name: raw.cluster.name,
    domain: raw.cluster.domain,
    timezone: raw.timezone ?? DEFAULTS.timezone,
    admin: { name: raw.admin.user, sshKeys: raw.admin.ssh_keys.map((key) => key.trim()) },
    network: {
      subnet: cidr(raw.network.subnet),
      gateway: raw.network.gateway,
      dns: raw.network.dns,
      ntp: raw.network.ntp ?? [],
    },
    nodes: raw.nodes.map((node, index) => normalizeNode(node, index, raw, initiatorIndex)),
    diskFilters: {
      local: (raw.disks?.local ?? []).map((f) => normalizeDiskFilter(f, 'local')),
      ceph: (raw.disks?.ceph ?? []).map((f) => normalizeDiskFilter(f, 'ceph')),
    },
    microcloud: {
      release,
      channels: { ...RELEASE_CHANNELS[release], ...mc.channels },
      discovery: mc.discovery ?? DEFAULTS.discovery,
      lookupTimeoutSeconds: mc.lookup_timeout ?? DEFAULTS.lookupTimeoutSeconds,
      sessionTimeoutSeconds: mc.session_timeout ?? DEFAULTS.sessionTimeoutSeconds,
      grow: mc.grow ?? DEFAULTS.grow,
      joinTicketDays: mc.join_ticket_days ?? DEFAULTS.joinTicketDays,
      snapSource: normalizeSnapSource(mc.snaps),
      ovn: {
        ...(ovn.ipv4_gateway !== undefined ? { ipv4Gateway: cidr(ovn.ipv4_gateway) } : {}),
        ...(ovn.ipv4_range !== undefined ? { ipv4Range: parseRange(ovn.ipv4_range)! } : {}),
        ...(ovn.ipv6_gateway !== undefined ? { ipv6Gateway: ovn.ipv6_gateway } : {}),
        dnsServers: ovn.dns_servers ?? [],
        ...(ovn.underlay_subnet !== undefined ? { underlaySubnet: cidr(ovn.underlay_subnet) } : {}),
      },
      ceph: {
        cephfs: ceph.cephfs ?? false,
        ...(ceph.internal_network !== undefined ? { internalNetwork: cidr(ceph.internal_network) } : {}),
        ...(ceph.public_network !== undefined ? { publicNetwork: cidr(ceph.public_network) } : {}),
      },
    },
    statusPort: mc.status_port ?? DEFAULTS.statusPort,
  };
}
