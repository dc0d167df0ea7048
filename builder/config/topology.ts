// Facts derived from a Cluster that both the rules and the renderers need: which nodes take
// part in Ceph, which dedicated networks exist, and which address a node holds in each.
import { cidrContains } from './ipv4.js';
import type { Cidr, Cluster, ClusterNode } from './types.js';

export interface DedicatedNetwork {
  /** Field path of its definition, e.g. ['microcloud', 'ceph', 'internal_network']. */
  readonly field: readonly string[];
  readonly cidr: Cidr;
}

/** The networks a node may reach through a NIC of its own, in the order MicroCloud documents them. */
export function dedicatedNetworks(c: Cluster): DedicatedNetwork[] {
  const { ceph, ovn } = c.microcloud;
  return [
    ...(ceph.internalNetwork ? [{ field: ['microcloud', 'ceph', 'internal_network'], cidr: ceph.internalNetwork }] : []),
    ...(ceph.publicNetwork ? [{ field: ['microcloud', 'ceph', 'public_network'], cidr: ceph.publicNetwork }] : []),
    ...(ovn.underlaySubnet ? [{ field: ['microcloud', 'ovn', 'underlay_subnet'], cidr: ovn.underlaySubnet }] : []),
  ];
}

/** The dedicated network a NIC address belongs to (the first that holds it). */
export const networkHolding = (c: Cluster, address: string): Cidr | undefined =>
  dedicatedNetworks(c).find((n) => cidrContains(n.cidr, address))?.cidr;

/** Every address a node holds, with the field that gives it. */
export function nodeAddresses(node: ClusterNode): { field: (string | number)[]; address: string }[] {
  return [
    { field: ['address'], address: node.address },
    ...(node.underlayAddress ? [{ field: ['underlay_address'], address: node.underlayAddress }] : []),
    ...node.dedicatedNics.map((nic, i) => ({ field: ['nics', i, 'address'], address: nic.address })),
  ];
}

/** The node's OVN underlay IP: underlay_address on the intra NIC, or a NIC of its own in the subnet. */
export function underlayIpOf(c: Cluster, node: ClusterNode): string | undefined {
  if (node.underlayAddress) return node.underlayAddress;
  const subnet = c.microcloud.ovn.underlaySubnet;
  return subnet ? node.dedicatedNics.find((nic) => cidrContains(subnet, nic.address))?.address : undefined;
}

/** Ceph is in play when any node lists a Ceph disk or a Ceph filter may pick some. */
export const usesCeph = (c: Cluster): boolean =>
  c.diskFilters.ceph.length > 0 || c.nodes.some((n) => n.cephDisks.length > 0);

/** Nodes that may hold OSDs: those with explicit disks, and (with a filter) every node without. */
export const cephMembers = (c: Cluster): ClusterNode[] =>
  c.nodes.filter((n) => n.cephDisks.length > 0 || c.diskFilters.ceph.length > 0);
