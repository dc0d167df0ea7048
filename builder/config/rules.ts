// The checks a schema cannot express. Each rule is small, named, and returns every
// problem it finds (not the first), each with the field, what is wrong and what to do.
import { DEDICATED_NETWORK_RULES } from './dedicated-network-rules.js';
import { DISK_FILTER_RULES } from './disk-filter-rules.js';
import { SNAP_SOURCE_RULES } from './snap-source-rules.js';
import { cidrContains, ipv4ToInt, isNetworkCidr, networkCidrText } from './ipv4.js';
import { formatPath, problem, warning, type Problem } from './problems.js';
import { at, duplicates, hostInSubnet, type Rule } from './rule-helpers.js';
import { cephMembers, nodeAddresses, underlayIpOf, usesCeph } from './topology.js';
import { formatCidr, type Cluster } from './types.js';

export type { Rule } from './rule-helpers.js';

const MAX_NODES = 50; // MicroCloud's documented maximum
const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ssh-dss|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/;


export const nodeCount: Rule = (c) =>
  c.nodes.length === 0
    ? [problem(['nodes'], 'lists no node', 'Add at least one node with a name and an address.')]
    : c.nodes.length > MAX_NODES
      ? [problem(['nodes'], `lists ${c.nodes.length} nodes, more than MicroCloud's maximum of ${MAX_NODES}`,
        'Split the nodes into several clusters.')]
      : [];

export const nodeNamesAreHostnames: Rule = (c) => c.nodes.flatMap((n) => {
  if (!HOSTNAME.test(n.name) || /^\d+$/.test(n.name))
    return [problem(at(n, 'name'), `"${n.name}" is not a valid hostname`,
      'Use 1 to 63 lowercase letters, digits and inner dashes, not only digits, e.g. pi1.')];
  if (n.fqdn.length > 253)
    return [problem(at(n, 'name'), `the full name ${n.fqdn} is longer than 253 characters`, 'Shorten the name or cluster.domain.')];
  return [];
});

export const uniqueNodeNames: Rule = (c) => duplicates(c.nodes, (n) => n.name.toLowerCase(), (n, first) =>
  problem(at(n, 'name'), `"${n.name}" is already the name of nodes[${first.index}]`, 'Give every node its own hostname.'));

export const uniqueAddresses: Rule = (c) => {
  const used = c.nodes.flatMap((n) => nodeAddresses(n).map(({ field, address }) => ({ node: n, field, value: address })));
  return duplicates(used, (u) => u.value, (u, first) =>
    problem(at(u.node, ...u.field), `${u.value} is already used by nodes[${first.node.index}].${formatPath(first.field)}`,
      'Give every node and NIC its own address.'));
};

export const uniqueMacs: Rule = (c) => {
  const macs = c.nodes.flatMap((n) => [
    ...(n.intraNic.macaddress ? [{ node: n, field: ['mac'], mac: n.intraNic.macaddress }] : []),
    ...(n.uplink?.nic.macaddress ? [{ node: n, field: ['uplink', 'mac'], mac: n.uplink.nic.macaddress }] : []),
    ...n.dedicatedNics.flatMap((d, i) => d.nic.macaddress ? [{ node: n, field: ['nics', i, 'mac'], mac: d.nic.macaddress }] : []),
  ]);
  return duplicates(macs, (m) => m.mac, (m, first) =>
    problem(at(m.node, ...m.field), `${m.mac} is already the MAC of nodes[${first.node.index}].${formatPath(first.field)}`,
      'Each NIC has its own MAC; copy it again from the device label or `ip link`.'));
};

export const subnetIsNetwork: Rule = (c) => isNetworkCidr(c.network.subnet) ? [] : [
  problem(['network', 'subnet'], `${formatCidr(c.network.subnet)} has host bits set`,
    `Write the network address: ${networkCidrText(c.network.subnet)}.`)];

export const gatewayInSubnet: Rule = (c) =>
  hostInSubnet(['network', 'gateway'], c.network.gateway, c.network.subnet, 'network.subnet');

export const addressesInSubnet: Rule = (c) => c.nodes.flatMap((n) => {
  const placed = hostInSubnet(at(n, 'address'), n.address, c.network.subnet, 'network.subnet');
  if (placed.length) return placed;
  return n.address === c.network.gateway
    ? [problem(at(n, 'address'), `${n.address} is the gateway's address`, 'Use a free address in the subnet.')]
    : [];
});

export const nicNamesDistinct: Rule = (c) => c.nodes.flatMap((n) => {
  const names = [
    { field: ['interface'], name: n.intraNic.name },
    ...(n.uplink ? [{ field: ['uplink', 'interface'], name: n.uplink.nic.name }] : []),
    ...(n.uplink?.bridge ? [{ field: ['uplink', 'bridge'], name: n.uplink.bridge }] : []),
    ...n.dedicatedNics.map((d, i) => ({ field: ['nics', i, 'interface'], name: d.nic.name })),
  ];
  return duplicates(names, (x) => x.name, (x, first) =>
    problem(at(n, ...x.field), `"${x.name}" is already this node's ${formatPath(first.field)}`,
      'The intra-cluster NIC, the uplink NIC, the bridge and each dedicated NIC need their own name.'));
});

export const uplinksAllOrNone: Rule = (c) => {
  const withUplink = c.nodes.filter((n) => n.uplink);
  if (withUplink.length === 0 || withUplink.length === c.nodes.length) return [];
  return c.nodes.filter((n) => !n.uplink).map((n) => problem(at(n, 'uplink'),
    `is missing while nodes[${withUplink[0]!.index}] has one`, 'Give every node an uplink, or none of them.'));
};

export const uplinkNeedsGateway: Rule = (c) => {
  const { ovn } = c.microcloud;
  if (!c.nodes.some((n) => n.uplink) || ovn.ipv4Gateway || ovn.ipv6Gateway) return [];
  return [problem(['microcloud', 'ovn', 'ipv4_gateway'], 'is missing, but the nodes have uplinks',
    'Set the uplink network\'s gateway, e.g. ipv4_gateway: 192.168.1.1/24 and ipv4_range.')];
};

export const ovnIpv4Range: Rule = (c) => {
  const { ipv4Gateway: gateway, ipv4Range: range } = c.microcloud.ovn;
  const base = ['microcloud', 'ovn'];
  if (!gateway && !range) return [];
  if (!gateway) return [problem([...base, 'ipv4_gateway'], 'is missing but ipv4_range is set',
    'Set ipv4_gateway to the uplink router\'s address with prefix, e.g. 192.168.1.1/24.')];
  if (isNetworkCidr(gateway) && gateway.prefix < 31)
    return [problem([...base, 'ipv4_gateway'], `${formatCidr(gateway)} is a network address, not the gateway's`,
      'Write the router\'s own address with the prefix, e.g. 192.168.1.1/24.')];
  if (!range) return [problem([...base, 'ipv4_range'], 'is missing but ipv4_gateway is set',
    'Give the addresses OVN may use on the uplink, e.g. 192.168.1.100-192.168.1.150.')];
  const problems = [range.start, range.end].flatMap((address) =>
    hostInSubnet([...base, 'ipv4_range'], address, gateway, 'the ipv4_gateway subnet'));
  if (problems.length) return problems.slice(0, 1);
  const [start, end] = [ipv4ToInt(range.start), ipv4ToInt(range.end)];
  if (start > end) return [problem([...base, 'ipv4_range'], `starts at ${range.start}, after its end ${range.end}`,
    'Write the lower address first.')];
  const inRange = (address: string) => ipv4ToInt(address) >= start && ipv4ToInt(address) <= end;
  if (inRange(gateway.address)) problems.push(problem([...base, 'ipv4_range'],
    `${range.start}-${range.end} contains the gateway ${gateway.address}`, 'Move the range so it leaves out the gateway.'));
  for (const n of c.nodes) if (inRange(n.address)) problems.push(problem([...base, 'ipv4_range'],
    `${range.start}-${range.end} contains nodes[${n.index}].address ${n.address}`,
    'Move the range so it leaves out every node address.'));
  return problems;
};

export const cephNeedsThreeNodes: Rule = (c) => {
  const withDisks = cephMembers(c);
  if (withDisks.length === 0 || withDisks.length >= 3) return [];
  const without = c.nodes.filter((n) => n.cephDisks.length === 0).map((n) => n.name);
  return [problem(['nodes'], `only ${withDisks.length} node${withDisks.length === 1 ? ' gives' : 's give'} Ceph disks; `
    + 'MicroCeph needs at least 3 for replicated storage',
    without.length ? `Add disks.ceph to ${without.slice(0, 3).join(', ')}, or remove disks.ceph everywhere.`
      : 'Add nodes with disks.ceph, or remove disks.ceph everywhere.')];
};

export const cephSettingsNeedDisks: Rule = (c) => {
  if (usesCeph(c)) return [];
  const { ceph } = c.microcloud;
  const set = [ceph.cephfs ? 'cephfs' : '', ceph.internalNetwork ? 'internal_network' : '',
    ceph.publicNetwork ? 'public_network' : ''].filter(Boolean);
  return set.map((field) => problem(['microcloud', 'ceph', field], 'is set but no node gives Ceph disks',
    'Add disks.ceph to at least 3 nodes (or a Ceph disk filter), or remove this setting.'));
};

export const cephNetworks: Rule = (c) => (['internalNetwork', 'publicNetwork'] as const).flatMap((key) => {
  const network = c.microcloud.ceph[key];
  const field = ['microcloud', 'ceph', key === 'internalNetwork' ? 'internal_network' : 'public_network'];
  if (!network) return [];
  if (!isNetworkCidr(network))
    return [problem(field, `${formatCidr(network)} has host bits set`, `Write the network address: ${networkCidrText(network)}.`)];
  return cephMembers(c).filter((n) => !nodeAddresses(n).some(({ address }) => cidrContains(network, address)))
    .map((n) => problem(field, `${formatCidr(network)} holds no address of nodes[${n.index}] (${n.name})`,
      'Every Ceph member needs an address in the Ceph network: use network.subnet, or give the node a NIC in it under nics.'));
});

export const disksOncePerNode: Rule = (c) => c.nodes.flatMap((n) => {
  const disks = [
    ...(n.localDisk ? [{ field: ['disks', 'local'], path: n.localDisk.path }] : []),
    ...n.cephDisks.map((d, i) => ({ field: ['disks', 'ceph', i], path: d.path })),
  ];
  return duplicates(disks, (d) => d.path, (d, first) => problem(at(n, ...d.field),
    `${d.path} is already given as ${formatPath(first.field)}`,
    'Give each disk once: a disk is either the local pool or one Ceph OSD.'));
});

export const underlayAllOrNone: Rule = (c) => {
  const subnet = c.microcloud.ovn.underlaySubnet;
  const withUnderlay = c.nodes.filter((n) => n.underlayAddress);
  if (!subnet && withUnderlay.length === 0) return [];
  if (!subnet) return [problem(['microcloud', 'ovn', 'underlay_subnet'], 'is missing but nodes have underlay_address',
    'Set the underlay subnet, e.g. underlay_subnet: 10.1.0.0/24.')];
  if (!isNetworkCidr(subnet)) return [problem(['microcloud', 'ovn', 'underlay_subnet'],
    `${formatCidr(subnet)} has host bits set`, `Write the network address: ${networkCidrText(subnet)}.`)];
  return c.nodes.flatMap((n) => {
    const onOwnNic = n.dedicatedNics.findIndex((nic) => cidrContains(subnet, nic.address));
    if (n.underlayAddress && onOwnNic !== -1) return [problem(at(n, 'underlay_address'),
      `is set, and nics[${onOwnNic}] is already in microcloud.ovn.underlay_subnet`,
      'Give the underlay address once: remove underlay_address to use the dedicated NIC.')];
    if (n.underlayAddress)
      return hostInSubnet(at(n, 'underlay_address'), n.underlayAddress, subnet, 'microcloud.ovn.underlay_subnet');
    return underlayIpOf(c, n) ? [] : [problem(at(n, 'underlay_address'), 'is missing but microcloud.ovn.underlay_subnet is set',
      'Give every node an underlay_address in that subnet, or a NIC in it under nics, or remove underlay_subnet.')];
  });
};

export const timeoutsFit: Rule = (c) => {
  const { lookupTimeoutSeconds: lookup, sessionTimeoutSeconds: session } = c.microcloud;
  return lookup < session ? [] : [problem(['microcloud', 'lookup_timeout'],
    `${lookup} s is not shorter than session_timeout ${session} s`,
    'The session must outlast the lookup: lower lookup_timeout or raise session_timeout.')];
};

export const sshKeysArePublic: Rule = (c) => c.admin.sshKeys.flatMap((key, i) => {
  const path = ['admin', 'ssh_keys', i];
  if (/PRIVATE KEY/.test(key)) return [problem(path, 'is a private key',
    'Never share the private key: paste the .pub file instead, e.g. ~/.ssh/id_ed25519.pub, and replace that key.')];
  return PUBLIC_KEY.test(key) ? [] : [problem(path, `"${key.slice(0, 30)}${key.length > 30 ? '...' : ''}" is not an SSH public key`,
    'Paste one line of a .pub file, e.g. "ssh-ed25519 AAAA... you@laptop".')];
});

export const timezoneKnown: Rule = (c) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: c.timezone });
    return [];
  } catch {
    return [problem(['timezone'], `"${c.timezone}" is not a known time zone`, 'Use an IANA name such as Etc/UTC or Europe/Berlin.')];
  }
};

/** MicroCloud 2.x stats explicit Ceph paths on the initiator (fixed in 3.3): warn when they differ. */
export const cephPathsExistOnInitiator: Rule = (c) => {
  if (c.microcloud.release !== 2) return [];
  const initiator = c.nodes.find((n) => n.initiator);
  if (!initiator) return [];
  const initiatorPaths = new Set(initiator.cephDisks.map((d) => d.path));
  return c.nodes.filter((n) => n !== initiator).flatMap((n) => n.cephDisks.flatMap((d, i) =>
    initiatorPaths.has(d.path) ? [] : [warning(at(n, 'disks', 'ceph', i),
      `${d.path} does not exist on the initiator ${initiator.name}; MicroCloud 2 checks Ceph paths there`,
      'Use the same by-path names on every node, or release: 3.')]));
};

export const RULES: readonly Rule[] = [
  nodeCount, nodeNamesAreHostnames, uniqueNodeNames, uniqueAddresses, uniqueMacs,
  subnetIsNetwork, gatewayInSubnet, addressesInSubnet, nicNamesDistinct,
  uplinksAllOrNone, uplinkNeedsGateway, ovnIpv4Range, cephNeedsThreeNodes, cephSettingsNeedDisks,
  cephNetworks, disksOncePerNode, underlayAllOrNone, timeoutsFit, sshKeysArePublic, timezoneKnown,
  cephPathsExistOnInitiator, ...DISK_FILTER_RULES, ...DEDICATED_NETWORK_RULES, ...SNAP_SOURCE_RULES,
];

export const checkRules = (cluster: Cluster): Problem[] => RULES.flatMap((rule) => rule(cluster));
