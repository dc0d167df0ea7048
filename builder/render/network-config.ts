// network-config (netplan v2): a static intra-cluster address with the default route and DNS,
// and an uplink that is up with no address at all, alone or enslaved to a bridge.
import { networkHolding } from '../config/topology.js';
import type { Cluster, NicMatch } from '../config/types.js';
import { nodeNamed } from './node-named.js';
import { renderTemplate } from './templates.js';

type Match = { macaddress: string } | { driver: string };

export interface NetworkPlan {
  intra: { name: string; match?: Match; addresses: string[]; gateway: string; dns: string[]; search: string[] };
  uplink?: { name: string; match?: Match };
  bridge?: { name: string; interfaces: string[] };
  /** NICs of their own for Ceph or the OVN underlay: an address, no route, no DNS. */
  dedicated: { name: string; match?: Match; addresses: string[] }[];
}

const matchOf = (nic: NicMatch): { match?: Match } =>
  nic.macaddress ? { match: { macaddress: nic.macaddress } } : nic.driver ? { match: { driver: nic.driver } } : {};

export function planNetworkConfig(cluster: Cluster, nodeName: string): NetworkPlan {
  const node = nodeNamed(cluster, nodeName);
  const prefix = cluster.network.subnet.prefix;
  const underlay = cluster.microcloud.ovn.underlaySubnet;
  // The OVN underlay rides on the intra-cluster NIC as a second address.
  const addresses = [`${node.address}/${prefix}`,
    ...(node.underlayAddress && underlay ? [`${node.underlayAddress}/${underlay.prefix}`] : [])];
  const plan: NetworkPlan = {
    intra: {
      name: node.intraNic.name,
      ...matchOf(node.intraNic),
      addresses,
      gateway: cluster.network.gateway,
      dns: [...cluster.network.dns],
      search: [cluster.domain],
    },
    // The rules proved every dedicated address sits in a declared network.
    dedicated: node.dedicatedNics.map((d) => ({
      name: d.nic.name, ...matchOf(d.nic), addresses: [`${d.address}/${networkHolding(cluster, d.address)!.prefix}`],
    })),
  };
  if (node.uplink) {
    plan.uplink = { name: node.uplink.nic.name, ...matchOf(node.uplink.nic) };
    if (node.uplink.mode === 'bridge') plan.bridge = { name: node.uplink.bridge!, interfaces: [node.uplink.nic.name] };
  }
  return plan;
}

/** The interface MicroCloud gives to OVN: the bridge when there is one, else the bare NIC. */
export function ovnUplinkInterface(cluster: Cluster, nodeName: string): string | undefined {
  const uplink = nodeNamed(cluster, nodeName).uplink;
  return uplink?.mode === 'bridge' ? uplink.bridge : uplink?.nic.name;
}

export const renderNetworkConfig = (cluster: Cluster, nodeName: string): string =>
  renderTemplate('network-config', planNetworkConfig(cluster, nodeName));
