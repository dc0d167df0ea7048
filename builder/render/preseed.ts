// The MicroCloud preseed: one document, the same on every node (each node finds its own role
// by its hostname). Field names and rules: shared/reference/microcloud-preseed.md.
import { underlayIpOf, usesCeph } from '../config/topology.js';
import { formatCidr, type Cluster, type ClusterNode, type Disk, type DiskFilter, type Secret } from '../config/types.js';
import { ovnUplinkInterface } from './network-config.js';
import { renderTemplate } from './templates.js';

export interface PreseedDisk { path: string; wipe: boolean; encrypt?: boolean }

export interface PreseedSystem {
  name: string;
  address?: string;
  ovn_uplink_interface?: string;
  ovn_underlay_ip?: string;
  storage?: { local?: { path: string; wipe: boolean }; ceph?: PreseedDisk[] };
}

export interface PreseedFilter { find: string; find_min: number; find_max: number; wipe: boolean; encrypt?: boolean }

export interface Preseed {
  initiator?: string;
  lookup_subnet?: string;
  initiator_address?: string;
  lookup_timeout: number;
  session_timeout: number;
  session_passphrase: string;
  systems: PreseedSystem[];
  ovn?: { ipv4_gateway?: string; ipv4_range?: string; ipv6_gateway?: string; dns_servers?: string };
  ceph?: { cephfs: boolean; internal_network?: string; public_network?: string };
  storage?: { local?: PreseedFilter[]; ceph?: PreseedFilter[] };
}

const cephDisk = (d: Disk): PreseedDisk => ({ path: d.path, wipe: d.wipe, encrypt: d.encrypt });
const filter = (f: DiskFilter, withEncrypt: boolean): PreseedFilter => ({
  find: f.find, find_min: f.findMin, find_max: f.findMax, wipe: f.wipe, ...(withEncrypt ? { encrypt: f.encrypt } : {}),
});

/** One machine's entry in `systems`: the same whether it forms the cluster or is added later. */
export function planPreseedSystem(cluster: Cluster, node: ClusterNode): PreseedSystem {
  const uplink = ovnUplinkInterface(cluster, node.name);
  const underlayIp = underlayIpOf(cluster, node);
  const storage = {
    ...(node.localDisk ? { local: { path: node.localDisk.path, wipe: node.localDisk.wipe } } : {}),
    ...(node.cephDisks.length ? { ceph: node.cephDisks.map(cephDisk) } : {}),
  };
  return {
    name: node.name,
    ...(cluster.microcloud.discovery === 'unicast' ? { address: node.address } : {}),
    ...(uplink ? { ovn_uplink_interface: uplink } : {}),
    ...(underlayIp ? { ovn_underlay_ip: underlayIp } : {}),
    ...(Object.keys(storage).length ? { storage } : {}),
  };
}

/** The top-level disk filters: they pick disks on the machines listed, at formation or when added. */
export function planPreseedFilters(cluster: Cluster): Preseed['storage'] {
  const { local: localFilters, ceph: cephFilters } = cluster.diskFilters;
  const storage = {
    ...(localFilters.length ? { local: localFilters.map((f) => filter(f, false)) } : {}),
    ...(cephFilters.length ? { ceph: cephFilters.map((f) => filter(f, true)) } : {}),
  };
  return Object.keys(storage).length ? storage : undefined;
}

export function planPreseed(cluster: Cluster, passphrase: Secret): Preseed {
  const mc = cluster.microcloud;
  const initiator = cluster.nodes.find((n) => n.initiator)!;
  const unicast = mc.discovery === 'unicast';
  const systems = cluster.nodes.map((node) => planPreseedSystem(cluster, node));
  const ovn = {
    ...(mc.ovn.ipv4Gateway && mc.ovn.ipv4Range ? {
      ipv4_gateway: formatCidr(mc.ovn.ipv4Gateway),
      ipv4_range: `${mc.ovn.ipv4Range.start}-${mc.ovn.ipv4Range.end}`,
    } : {}),
    ...(mc.ovn.ipv6Gateway ? { ipv6_gateway: mc.ovn.ipv6Gateway } : {}),
    ...(mc.ovn.dnsServers.length ? { dns_servers: mc.ovn.dnsServers.join(',') } : {}),
  };
  const storage = planPreseedFilters(cluster);
  return {
    ...(unicast ? { initiator_address: initiator.address }
      : { initiator: initiator.name, lookup_subnet: formatCidr(cluster.network.subnet) }),
    lookup_timeout: mc.lookupTimeoutSeconds,
    session_timeout: mc.sessionTimeoutSeconds,
    session_passphrase: passphrase,
    systems,
    ...(Object.keys(ovn).length ? { ovn } : {}),
    ...(usesCeph(cluster) ? {
      ceph: {
        cephfs: mc.ceph.cephfs,
        ...(mc.ceph.internalNetwork ? { internal_network: formatCidr(mc.ceph.internalNetwork) } : {}),
        ...(mc.ceph.publicNetwork ? { public_network: formatCidr(mc.ceph.publicNetwork) } : {}),
      },
    } : {}),
    ...(storage ? { storage } : {}),
  };
}

export const renderPreseed = (cluster: Cluster, passphrase: Secret): string =>
  renderTemplate('preseed', planPreseed(cluster, passphrase));
