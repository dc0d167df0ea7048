// Rules for NICs of their own on dedicated networks (Ceph internal/public, OVN underlay):
// every such address sits in a declared network, and those networks stay apart from the
// intra-cluster and uplink networks they would otherwise shadow in the routing table.
import { broadcastAddress, cidrContains, networkAddress, networkCidrText } from './ipv4.js';
import { formatPath, problem } from './problems.js';
import { at, hostInSubnet, type Rule } from './rule-helpers.js';
import { dedicatedNetworks } from './topology.js';
import { formatCidr, type Cidr } from './types.js';

const overlap = (a: Cidr, b: Cidr): boolean =>
  networkAddress(a) <= broadcastAddress(b) && networkAddress(b) <= broadcastAddress(a);
const sameNetwork = (a: Cidr, b: Cidr): boolean =>
  a.prefix === b.prefix && networkAddress(a) === networkAddress(b);

export const dedicatedNicsInNetworks: Rule = (c) => {
  const networks = dedicatedNetworks(c);
  return c.nodes.flatMap((n) => n.dedicatedNics.flatMap((nic, i) => {
    const path = at(n, 'nics', i, 'address');
    if (networks.length === 0) return [problem(path, `${nic.address} belongs to no dedicated network`,
      'nics are for dedicated networks: set microcloud.ceph.internal_network, public_network or ovn.underlay_subnet, or remove the NIC.')];
    const home = networks.find((net) => cidrContains(net.cidr, nic.address));
    if (!home) return [problem(path, `${nic.address} is in none of ${networks.map((net) => `${formatPath(net.field)} ${formatCidr(net.cidr)}`).join(', ')}`,
      'Use an address inside one of those networks, or add the network it belongs to.')];
    return hostInSubnet(path, nic.address, home.cidr, formatPath(home.field));
  }));
};

export const dedicatedNetworksApart: Rule = (c) => {
  const networks = dedicatedNetworks(c);
  const uplink = c.microcloud.ovn.ipv4Gateway;
  const withNics = (cidr: Cidr) => c.nodes.some((n) => n.dedicatedNics.some((nic) => cidrContains(cidr, nic.address)));
  return networks.flatMap((net, i) => {
    const text = `${formatCidr(net.cidr)}`;
    if (withNics(net.cidr) && overlap(net.cidr, c.network.subnet)) return [problem(net.field,
      `${text} overlaps network.subnet ${formatCidr(c.network.subnet)} but is reached through dedicated NICs`,
      'Give the dedicated network a subnet of its own, or drop the NICs and use the intra-cluster addresses.')];
    if (uplink && overlap(net.cidr, uplink)) return [problem(net.field,
      `${text} overlaps the OVN uplink network ${networkCidrText(uplink)}`,
      'The uplink carries no host address: give this network a subnet of its own.')];
    const clash = networks.slice(0, i).find((other) => overlap(other.cidr, net.cidr) && !sameNetwork(other.cidr, net.cidr));
    return clash ? [problem(net.field, `${text} overlaps ${formatPath(clash.field)} ${formatCidr(clash.cidr)} without being the same network`,
      'Use the same subnet for both (one NIC serves both) or subnets that do not overlap.')] : [];
  });
};

export const DEDICATED_NETWORK_RULES: readonly Rule[] = [dedicatedNicsInNetworks, dedicatedNetworksApart];
