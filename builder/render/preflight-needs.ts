// What one node's part of the preseed needs from the Pi it runs on, for the preflight check the
// first-boot service runs before `microcloud preseed` (the step that cannot be undone).
import { usesCeph } from '../config/topology.js';
import type { Cluster, ClusterNode } from '../config/types.js';

/** snapd that MicroCloud's snaps (core24, encrypted OSDs) need. */
export const SNAPD_MIN = '2.59.1';
/** MicroCloud's documented minimum for a test cluster (32 GiB for production). */
export const MEMORY_MIN_MIB = 8 * 1024;

export interface PreflightNeeds {
  /** The NIC that must hold the intra-cluster address (the name netplan gives it). */
  readonly intra: { readonly interface: string; readonly address: string };
  /** What MicroCloud gives OVN: this NIC (or bridge) must exist, be up and carry no address. */
  readonly uplink?: { readonly interface: string; readonly mac?: string; readonly bridge?: string };
  /** Dedicated NICs (Ceph, OVN underlay) that must hold their address. */
  readonly dedicated: readonly { readonly interface: string; readonly address: string }[];
  /** Explicit disks: each must exist, be a whole disk, unmounted, and empty unless wiped. */
  readonly disks: readonly { readonly path: string; readonly use: 'local' | 'ceph'; readonly wipe: boolean }[];
  /** Filters that choose this node's disks (only where it lists none of that kind). */
  readonly filters: readonly { readonly use: 'local' | 'ceph'; readonly find: string; readonly findMin: number }[];
  /** Kernel modules the chosen storage loads. */
  readonly modules: readonly string[];
  /** An OSD here is encrypted: MicroCeph's dm-crypt plug must be connected. */
  readonly encryptedOsd: boolean;
  readonly snapdMin: string;
  readonly memoryMinMiB: number;
}

export function planPreflightNeeds(cluster: Cluster, node: ClusterNode): PreflightNeeds {
  const disks = [
    ...(node.localDisk ? [{ path: node.localDisk.path, use: 'local' as const, wipe: node.localDisk.wipe }] : []),
    ...node.cephDisks.map((d) => ({ path: d.path, use: 'ceph' as const, wipe: d.wipe })),
  ];
  const localFilters = node.localDisk ? [] : cluster.diskFilters.local;
  const cephFilters = node.cephDisks.length ? [] : cluster.diskFilters.ceph;
  const filters = [
    ...localFilters.map((f) => ({ use: 'local' as const, find: f.find, findMin: f.findMin })),
    ...cephFilters.map((f) => ({ use: 'ceph' as const, find: f.find, findMin: f.findMin })),
  ];
  const encryptedOsd = node.cephDisks.some((d) => d.encrypt) || cephFilters.some((f) => f.encrypt);
  const modules = [
    ...(usesCeph(cluster) ? ['rbd', 'ceph'] : []), // every member mounts Ceph volumes, OSDs or not
    ...(encryptedOsd ? ['dm_crypt'] : []),
    ...(node.localDisk || localFilters.length ? ['zfs'] : []),
  ];
  const uplink = node.uplink;
  return {
    intra: { interface: node.intraNic.name, address: node.address },
    ...(uplink ? { uplink: {
      interface: uplink.nic.name,
      ...(uplink.nic.macaddress ? { mac: uplink.nic.macaddress } : {}),
      ...(uplink.mode === 'bridge' && uplink.bridge ? { bridge: uplink.bridge } : {}),
    } } : {}),
    dedicated: node.dedicatedNics.map((n) => ({ interface: n.nic.name, address: n.address })),
    disks, filters, modules, encryptedOsd, snapdMin: SNAPD_MIN, memoryMinMiB: MEMORY_MIN_MIB,
  };
}
