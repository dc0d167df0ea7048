// One row per mistake a user can make in a cluster file: each must give a located, actionable
// message and never a crash.
import { stringify } from 'yaml';
import { validateCluster } from '../builder/config/validate-cluster.js';
import { formatProblem } from '../builder/config/problems.js';
import { indentationMistake } from '../builder/config/yaml-syntax.js';
import { exampleFile, exampleNames } from './helpers/examples.js';
import { readFileSync } from 'node:fs';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@laptop';

function base(): Doc {
  const node = (n: number) => ({
    name: `pi${n}`, address: `10.0.0.1${n}`, uplink: { interface: 'eth1' }, disks: { ceph: ['/dev/sda'] },
  });
  return {
    cluster: { name: 'shelf', domain: 'shelf.internal' },
    admin: { user: 'ops', ssh_keys: [KEY] },
    network: { subnet: '10.0.0.0/24', gateway: '10.0.0.1', dns: ['10.0.0.1'] },
    nodes: [node(1), node(2), node(3)],
    microcloud: { ovn: { ipv4_gateway: '192.168.1.1/24', ipv4_range: '192.168.1.100-192.168.1.150' } },
  };
}

interface Row { name: string; edit?: (d: Doc) => void; text?: string; field: string; message: RegExp }

const rows: Row[] = [
  { name: 'a misspelt top-level key', edit: (d) => { d.netwrok = d.network; delete d.network; }, field: 'netwrok', message: /not a known field.*Did you mean "network"/ },
  { name: 'a misspelt node key', edit: (d) => { d.nodes[1].adress = '10.0.0.12'; }, field: 'nodes[1].adress', message: /Did you mean "address"/ },
  { name: 'an invented disks key', edit: (d) => { d.nodes[0].disks.osd = ['/dev/sdb']; }, field: 'nodes[0].disks.osd', message: /not a known field/ },
  { name: 'a missing cluster name', edit: (d) => { delete d.cluster.name; }, field: 'cluster.name', message: /is required but missing/ },
  { name: 'no SSH key', edit: (d) => { d.admin.ssh_keys = []; }, field: 'admin.ssh_keys', message: /at least 1 item.*public key/ },
  { name: 'a private key pasted', edit: (d) => { d.admin.ssh_keys = ['-----BEGIN OPENSSH PRIVATE KEY-----']; }, field: 'admin.ssh_keys[0]', message: /is a private key.*\.pub/ },
  { name: 'a key that is not a key', edit: (d) => { d.admin.ssh_keys = ['hunter2']; }, field: 'admin.ssh_keys[0]', message: /not an SSH public key/ },
  { name: 'an address with a bad octet', edit: (d) => { d.nodes[0].address = '10.0.0.300'; }, field: 'nodes[0].address', message: /"10.0.0.300" is not valid here.*IPv4/ },
  { name: 'a number where a name goes', edit: (d) => { d.nodes[0].name = 7; }, field: 'nodes[0].name', message: /7 should be a string/ },
  { name: 'a subnet that is not CIDR', edit: (d) => { d.network.subnet = '10.0.0.0'; }, field: 'network.subnet', message: /not valid here.*CIDR/ },
  { name: 'a subnet with host bits', edit: (d) => { d.network.subnet = '10.0.0.5/24'; }, field: 'network.subnet', message: /host bits set.*10\.0\.0\.0\/24/ },
  { name: 'a node outside the subnet', edit: (d) => { d.nodes[2].address = '10.0.1.13'; }, field: 'nodes[2].address', message: /10.0.1.13 is outside network.subnet 10.0.0.0\/24/ },
  { name: 'a node on the broadcast address', edit: (d) => { d.nodes[2].address = '10.0.0.255'; }, field: 'nodes[2].address', message: /network or broadcast address/ },
  { name: 'a node on the gateway', edit: (d) => { d.nodes[0].address = '10.0.0.1'; }, field: 'nodes[0].address', message: /the gateway's address/ },
  { name: 'a gateway outside the subnet', edit: (d) => { d.network.gateway = '10.9.0.1'; }, field: 'network.gateway', message: /outside network.subnet/ },
  { name: 'two nodes with one address', edit: (d) => { d.nodes[1].address = '10.0.0.11'; }, field: 'nodes[1].address', message: /already used by nodes\[0\]\.address/ },
  { name: 'two nodes with one name', edit: (d) => { d.nodes[2].name = 'pi1'; }, field: 'nodes[2].name', message: /already the name of nodes\[0\]/ },
  { name: 'a name that is no hostname', edit: (d) => { d.nodes[0].name = 'Pi_1'; }, field: 'nodes[0].name', message: /not a valid hostname/ },
  { name: 'an all-digit name', edit: (d) => { d.nodes[0].name = '123'; }, field: 'nodes[0].name', message: /not a valid hostname/ },
  { name: 'no nodes at all', edit: (d) => { d.nodes = []; }, field: 'nodes', message: /lists no node/ },
  { name: 'more than 50 nodes', edit: (d) => { d.nodes = Array.from({ length: 51 }, (_, i) => ({ name: `n${i}`, address: `10.0.0.${i + 20}` })); d.microcloud = {}; }, field: 'nodes', message: /51 nodes, more than MicroCloud's maximum of 50/ },
  { name: 'two initiators', edit: (d) => { d.nodes[0].initiator = true; d.nodes[2].initiator = true; }, field: 'nodes[2].initiator', message: /nodes\[0\] is already the initiator/ },
  { name: 'Ceph on two nodes only', edit: (d) => { delete d.nodes[2].disks; }, field: 'nodes', message: /only 2 nodes give Ceph disks.*Add disks.ceph to pi3/ },
  { name: 'a disk given twice', edit: (d) => { d.nodes[0].disks.ceph = ['/dev/sda', '/dev/sda']; }, field: 'nodes[0].disks.ceph[1]', message: /already given as disks.ceph\[0\]/ },
  { name: 'the local disk also used for Ceph', edit: (d) => { d.nodes[0].disks.local = '/dev/sda'; }, field: 'nodes[0].disks.ceph[0]', message: /already given as disks.local/ },
  { name: 'a disk that is not a device', edit: (d) => { d.nodes[0].disks.ceph = ['sda']; }, field: 'nodes[0].disks.ceph[0]', message: /not valid here.*device path/ },
  { name: 'an OVN range outside the gateway subnet', edit: (d) => { d.microcloud.ovn.ipv4_range = '192.168.2.100-192.168.2.150'; }, field: 'microcloud.ovn.ipv4_range', message: /outside the ipv4_gateway subnet/ },
  { name: 'an OVN range holding a node', edit: (d) => { d.microcloud.ovn = { ipv4_gateway: '10.0.0.1/24', ipv4_range: '10.0.0.10-10.0.0.20' }; }, field: 'microcloud.ovn.ipv4_range', message: /contains nodes\[0\]\.address 10.0.0.11/ },
  { name: 'an OVN range holding the gateway', edit: (d) => { d.microcloud.ovn.ipv4_range = '192.168.1.1-192.168.1.9'; }, field: 'microcloud.ovn.ipv4_range', message: /contains the gateway/ },
  { name: 'an OVN range backwards', edit: (d) => { d.microcloud.ovn.ipv4_range = '192.168.1.150-192.168.1.100'; }, field: 'microcloud.ovn.ipv4_range', message: /after its end/ },
  { name: 'an OVN gateway given as a network', edit: (d) => { d.microcloud.ovn.ipv4_gateway = '192.168.1.0/24'; }, field: 'microcloud.ovn.ipv4_gateway', message: /network address, not the gateway's/ },
  { name: 'an OVN gateway without a range', edit: (d) => { delete d.microcloud.ovn.ipv4_range; }, field: 'microcloud.ovn.ipv4_range', message: /is missing but ipv4_gateway is set/ },
  { name: 'uplinks without any gateway', edit: (d) => { delete d.microcloud.ovn; }, field: 'microcloud.ovn.ipv4_gateway', message: /nodes have uplinks/ },
  { name: 'an uplink on some nodes only', edit: (d) => { delete d.nodes[1].uplink; }, field: 'nodes[1].uplink', message: /missing while nodes\[0\] has one/ },
  { name: 'an uplink naming no NIC', edit: (d) => { d.nodes[0].uplink = { mode: 'bridge' }; }, field: 'nodes[0].uplink', message: /names no NIC/ },
  { name: 'an unknown uplink mode', edit: (d) => { d.nodes[0].uplink.mode = 'dhcp'; }, field: 'nodes[0].uplink.mode', message: /"dhcp" is not one of "unconfigured", "bridge"/ },
  { name: 'the uplink on the intra NIC', edit: (d) => { d.nodes[0].uplink.interface = 'eth0'; }, field: 'nodes[0].uplink.interface', message: /already this node's interface/ },
  { name: 'a malformed MAC', edit: (d) => { d.nodes[0].uplink = { mac: '00:11:22:33:44' }; }, field: 'nodes[0].uplink.mac', message: /six hex pairs/ },
  { name: 'one MAC on two nodes', edit: (d) => { d.nodes[0].uplink = { mac: '00:11:22:33:44:55' }; d.nodes[1].uplink = { mac: '00:11:22:33:44:55' }; }, field: 'nodes[1].uplink.mac', message: /already the MAC of nodes\[0\]/ },
  { name: 'an interface name over 15 characters', edit: (d) => { d.nodes[0].uplink.interface = 'enx001122334455x'; }, field: 'nodes[0].uplink.interface', message: /15 characters/ },
  { name: 'a bridge name without bridge mode', edit: (d) => { d.nodes[0].uplink.bridge = 'br0'; }, field: 'nodes[0].uplink.bridge', message: /mode is not bridge/ },
  { name: 'release 4', edit: (d) => { d.microcloud.release = 4; }, field: 'microcloud.release', message: /4 is not one of 2, 3/ },
  { name: 'a session timeout over an hour', edit: (d) => { d.microcloud.session_timeout = 7200; }, field: 'microcloud.session_timeout', message: /7200 is above 3600/ },
  { name: 'a lookup longer than the session', edit: (d) => { d.microcloud.lookup_timeout = 3000; d.microcloud.session_timeout = 1200; }, field: 'microcloud.lookup_timeout', message: /not shorter than session_timeout/ },
  { name: 'a card good for over a year', edit: (d) => { d.microcloud.join_ticket_days = 400; }, field: 'microcloud.join_ticket_days', message: /400 is above 365.*from 1 to 365/ },
  { name: 'a card good for no day at all', edit: (d) => { d.microcloud.join_ticket_days = 0; }, field: 'microcloud.join_ticket_days', message: /0 is below 1/ },
  { name: 'a bad snap channel', edit: (d) => { d.microcloud.channels = { lxd: 'latest stable' }; }, field: 'microcloud.channels.lxd', message: /snap channel/ },
  { name: 'CephFS without Ceph disks', edit: (d) => { d.nodes.forEach((n: Doc) => delete n.disks); d.microcloud.ceph = { cephfs: true }; }, field: 'microcloud.ceph.cephfs', message: /no node gives Ceph disks/ },
  { name: 'a Ceph network with host bits', edit: (d) => { d.microcloud.ceph = { public_network: '10.0.0.7/24' }; }, field: 'microcloud.ceph.public_network', message: /host bits set/ },
  { name: 'a Ceph network no node is in', edit: (d) => { d.microcloud.ceph = { internal_network: '10.9.0.0/24' }; }, field: 'microcloud.ceph.internal_network', message: /holds no address of nodes\[0\]/ },
  { name: 'underlay addresses without a subnet', edit: (d) => { d.nodes[0].underlay_address = '10.1.0.11'; }, field: 'microcloud.ovn.underlay_subnet', message: /is missing but nodes have underlay_address/ },
  { name: 'an underlay on some nodes only', edit: (d) => { d.microcloud.ovn.underlay_subnet = '10.1.0.0/24'; d.nodes[0].underlay_address = '10.1.0.11'; }, field: 'nodes[1].underlay_address', message: /is missing but microcloud.ovn.underlay_subnet is set/ },
  // Disk filters (cluster-level disks.local / disks.ceph), as MicroCloud would refuse them on the Pi.
  { name: 'a Ceph filter without find_min', edit: (d) => { delete d.nodes[2].disks; d.disks = { ceph: [{ find: 'type == usb' }] }; }, field: 'disks.ceph[0].find_min', message: /is 0 or missing.*at least 1/ },
  { name: 'a filter without find', edit: (d) => { delete d.nodes[2].disks; d.disks = { ceph: [{ find_min: 1 }] }; }, field: 'disks.ceph[0].find', message: /is required but missing/ },
  { name: 'a filter with find_max below find_min', edit: (d) => { delete d.nodes[2].disks; d.disks = { ceph: [{ find: 'type == usb', find_min: 3, find_max: 2 }] }; }, field: 'disks.ceph[0].find_max', message: /2 is below find_min 3/ },
  { name: 'an encrypted local filter', edit: (d) => { d.disks = { local: [{ find: 'type == nvme', encrypt: true }] }; }, field: 'disks.local[0].encrypt', message: /Only Ceph OSDs can be encrypted/ },
  { name: 'a Ceph filter when every node lists Ceph disks', edit: (d) => { d.disks = { ceph: [{ find: 'type == usb', find_min: 1 }] }; }, field: 'disks.ceph', message: /every node lists its own disks\.ceph/ },
  { name: 'a local filter when every node lists a local disk', edit: (d) => { d.nodes.forEach((n: Doc, i: number) => { n.disks.local = `/dev/nvme${i}n1`; }); d.disks = { local: [{ find: 'type == nvme' }] }; }, field: 'disks.local', message: /every node lists its own disks\.local/ },
  { name: 'a local disk on some nodes only', edit: (d) => { d.nodes[0].disks.local = '/dev/nvme0n1'; }, field: 'nodes[1].disks.local', message: /missing while nodes\[0\] has one.*local filter/ },
  { name: 'a misspelt filter field', edit: (d) => { d.disks = { local: [{ find: 'sise > 10GiB' }] }; d.nodes[0].disks.local = '/dev/nvme0n1'; }, field: 'disks.local[0].find', message: /"sise", which is not a disk field.*Did you mean "size"/ },
  { name: 'a filter operator MicroCloud lacks', edit: (d) => { delete d.nodes[2].disks; d.disks = { ceph: [{ find: 'type =~ usb', find_min: 1 }] }; }, field: 'disks.ceph[0].find', message: /"=~" where a comparison belongs/ },
  { name: 'a filter with parentheses', edit: (d) => { delete d.nodes[2].disks; d.disks = { ceph: [{ find: '(type == usb || type == nvme) && size > 1TB', find_min: 1 }] }; }, field: 'disks.ceph[0].find', message: /parenthesis.*left to right/ },
  { name: 'a filter with a glued operator', edit: (d) => { delete d.nodes[2].disks; d.disks = { ceph: [{ find: 'size>100GiB', find_min: 1 }] }; }, field: 'disks.ceph[0].find', message: /Put spaces around every operator, e\.g\. "size > 100GiB"/ },
  { name: 'a filter size with a decimal', edit: (d) => { delete d.nodes[2].disks; d.disks = { ceph: [{ find: 'size > 1.5TB', find_min: 1 }] }; }, field: 'disks.ceph[0].find', message: /not a size MicroCloud understands/ },
  { name: 'a filter ordering a text field', edit: (d) => { delete d.nodes[2].disks; d.disks = { ceph: [{ find: 'model > Samsung', find_min: 1 }] }; }, field: 'disks.ceph[0].find', message: /text field model with >/ },
  { name: 'a filter ending in &&', edit: (d) => { delete d.nodes[2].disks; d.disks = { ceph: [{ find: 'type == usb &&', find_min: 1 }] }; }, field: 'disks.ceph[0].find', message: /ends with "&&"/ },
  // OVN on IPv6 and dedicated networks.
  { name: 'a DNS server that is no address', edit: (d) => { d.microcloud.ovn.dns_servers = ['dns.example.org']; }, field: 'microcloud.ovn.dns_servers[0]', message: /IPv4 or IPv6 address/ },
  { name: 'an IPv6 gateway without a prefix', edit: (d) => { d.microcloud.ovn = { ipv6_gateway: 'fd00::1' }; }, field: 'microcloud.ovn.ipv6_gateway', message: /address\/prefix/ },
  { name: 'a dedicated NIC without a dedicated network', edit: (d) => { d.nodes[0].nics = [{ interface: 'eth2', address: '10.5.0.11' }]; }, field: 'nodes[0].nics[0].address', message: /belongs to no dedicated network/ },
  { name: 'a dedicated NIC outside every dedicated network', edit: (d) => { d.microcloud.ceph = { internal_network: '10.5.0.0/24' }; d.nodes.forEach((n: Doc, i: number) => { n.nics = [{ interface: 'eth2', address: `10.5.0.1${i + 1}` }]; }); d.nodes[2].nics[0].address = '10.6.0.13'; }, field: 'nodes[2].nics[0].address', message: /10\.6\.0\.13 is in none of microcloud\.ceph\.internal_network 10\.5\.0\.0\/24/ },
  { name: 'a Ceph member without an address in the Ceph network', edit: (d) => { d.microcloud.ceph = { internal_network: '10.5.0.0/24' }; d.nodes[0].nics = [{ interface: 'eth2', address: '10.5.0.11' }]; d.nodes[1].nics = [{ interface: 'eth2', address: '10.5.0.12' }]; }, field: 'microcloud.ceph.internal_network', message: /holds no address of nodes\[2\] \(pi3\).*under nics/ },
  { name: 'a dedicated NIC reusing an address', edit: (d) => { d.microcloud.ceph = { internal_network: '10.5.0.0/24' }; d.nodes.forEach((n: Doc) => { n.nics = [{ interface: 'eth2', address: '10.5.0.11' }]; }); }, field: 'nodes[1].nics[0].address', message: /already used by nodes\[0\]\.nics\[0\]\.address/ },
  { name: 'a dedicated NIC named like the uplink', edit: (d) => { d.microcloud.ceph = { internal_network: '10.5.0.0/24' }; d.nodes.forEach((n: Doc, i: number) => { n.nics = [{ interface: 'eth1', address: `10.5.0.1${i + 1}` }]; }); }, field: 'nodes[0].nics[0].interface', message: /already this node's uplink\.interface/ },
  { name: 'a dedicated network inside the intra subnet', edit: (d) => { d.network.subnet = '10.0.0.0/16'; d.microcloud.ceph = { internal_network: '10.0.5.0/24' }; d.nodes.forEach((n: Doc, i: number) => { n.nics = [{ interface: 'eth2', address: `10.0.5.1${i + 1}` }]; }); }, field: 'microcloud.ceph.internal_network', message: /overlaps network\.subnet 10\.0\.0\.0\/16/ },
  { name: 'a dedicated network on the uplink network', edit: (d) => { d.microcloud.ceph = { public_network: '192.168.1.0/24' }; }, field: 'microcloud.ceph.public_network', message: /overlaps the OVN uplink network 192\.168\.1\.0\/24/ },
  { name: 'Ceph and underlay networks that half overlap', edit: (d) => { d.microcloud.ceph = { internal_network: '10.5.0.0/16' }; d.microcloud.ovn.underlay_subnet = '10.5.1.0/24'; d.nodes.forEach((n: Doc, i: number) => { n.nics = [{ interface: 'eth2', address: `10.5.1.1${i + 1}` }]; }); }, field: 'microcloud.ovn.underlay_subnet', message: /overlaps microcloud\.ceph\.internal_network 10\.5\.0\.0\/16 without being the same network/ },
  { name: 'an underlay given twice', edit: (d) => { d.microcloud.ovn.underlay_subnet = '10.5.0.0/24'; d.nodes.forEach((n: Doc, i: number) => { n.nics = [{ interface: 'eth2', address: `10.5.0.1${i + 1}` }]; }); d.nodes[0].underlay_address = '10.5.0.99'; }, field: 'nodes[0].underlay_address', message: /nics\[0\] is already in microcloud\.ovn\.underlay_subnet/ },
  { name: 'a snap source that does not exist', edit: (d) => { d.microcloud.snaps = { source: 'usb' }; }, field: 'microcloud.snaps.source', message: /"usb" is not one of "store", "bundle"/ },
  { name: 'a bundle without its server', edit: (d) => { d.microcloud.snaps = { source: 'bundle' }; }, field: 'microcloud.snaps.server', message: /is missing but source is bundle.*build-image serve/ },
  { name: 'a server for the store', edit: (d) => { d.microcloud.snaps = { server: '10.0.0.5' }; }, field: 'microcloud.snaps.server', message: /is set but source is store \(the default\).*source: bundle/ },
  { name: 'a bundle server given as a URL', edit: (d) => { d.microcloud.snaps = { source: 'bundle', server: 'http://10.0.0.5:8555' }; }, field: 'microcloud.snaps.server', message: /not valid here.*IPv4 address/ },
  { name: 'a bundle server port over 65535', edit: (d) => { d.microcloud.snaps = { source: 'bundle', server: '10.0.0.5:70000' }; }, field: 'microcloud.snaps.server', message: /not valid here/ },
  { name: 'a bundle server outside the intra network', edit: (d) => { d.microcloud.snaps = { source: 'bundle', server: '192.168.7.5' }; }, field: 'microcloud.snaps.server', message: /192\.168\.7\.5 is outside network\.subnet 10\.0\.0\.0\/24.*build-image serve/ },
  { name: 'a bundle server on a node', edit: (d) => { d.microcloud.snaps = { source: 'bundle', server: '10.0.0.12' }; }, field: 'microcloud.snaps.server', message: /is nodes\[1\]\.address \(pi2\).*cannot serve the bundle before/ },
  { name: 'a bundle server on a port that needs root', edit: (d) => { d.microcloud.snaps = { source: 'bundle', server: '10.0.0.5:80' }; }, field: 'microcloud.snaps.server', message: /port 80 needs root.*8555/ },
  { name: 'the status endpoint on the bundle port', edit: (d) => { d.microcloud.snaps = { source: 'bundle', server: '10.0.0.5' }; d.microcloud.status_port = 8555; }, field: 'microcloud.status_port', message: /8555 is the port every node serves the snap bundle on/ },
  { name: 'an unknown time zone', edit: (d) => { d.timezone = 'Mars/Olympus'; }, field: 'timezone', message: /not a known time zone/ },
  { name: 'a bad admin user name', edit: (d) => { d.admin.user = 'Root User'; }, field: 'admin.user', message: /login name/ },
  { name: 'a list where a mapping goes', edit: (d) => { d.network = ['10.0.0.0/24']; }, field: 'network', message: /should be a mapping/ },
  { name: 'a YAML syntax error', text: 'cluster:\n  name: shelf\n   domain: x\n', field: '', message: /the file is not valid YAML/ },
  { name: 'a key given twice', text: 'cluster:\n  name: a\n  name: b\n', field: '', message: /not valid YAML: "name" is given twice in one mapping \(first on line 2\)\. Keep one/ },
  { name: 'an empty file', text: '', field: '', message: /the file is empty/ },
  { name: 'a scalar instead of a cluster', text: 'hello\n', field: '', message: /the file "hello" should be a mapping/ },
];

describe('bad cluster files', () => {
  it('has at least 25 distinct mistakes in the table', () => {
    expect(new Set(rows.map((r) => r.name)).size).toBeGreaterThanOrEqual(25);
  });

  it.each(rows)('reports $name at $field', ({ edit, text, field, message }) => {
    let source = text;
    if (source === undefined) {
      const doc = base();
      edit!(doc);
      source = stringify(doc);
    }
    const result = validateCluster(source, 'shelf.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const lines = result.problems.filter((p) => p.severity === 'error').map(formatProblem);
    const expectedStart = field ? new RegExp(`^shelf\\.yaml:\\d+: ${field.replace(/[.[\]]/g, '\\$&')}: `) : /^shelf\.yaml(:\d+)?: the file /;
    const matching = lines.filter((line) => expectedStart.test(line) && message.test(line));
    if (!matching.length) throw new Error(`no problem at ${field || 'the file'} matching ${message}; got:\n${lines.join('\n')}`);
    // Every message ends with advice: a sentence after the problem.
    for (const line of lines) expect(line).toMatch(/\. \S.*[.?]$/);
  });

  it('accepts the unedited base file', () => {
    expect(validateCluster(stringify(base()), 'shelf.yaml').ok).toBe(true);
  });

  it('lists every problem at once, in file order', () => {
    const doc = base();
    doc.nodes[0].address = '10.0.1.11';
    doc.nodes[2].name = 'pi1';
    doc.timezone = 'Nowhere/Land';
    const result = validateCluster(stringify(doc), 'shelf.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(3);
    const lines = result.problems.map((p) => p.line ?? 0);
    expect([...lines].sort((a, b) => a - b)).toEqual(lines);
  });

  it('names the line of the offending field', () => {
    const text = stringify(base());
    const broken = text.replace('address: 10.0.0.12', 'address: 10.0.0.999');
    const result = validateCluster(broken, 'shelf.yaml');
    if (result.ok) throw new Error('expected failure');
    const lineNo = broken.split('\n').findIndex((l) => l.includes('10.0.0.999')) + 1;
    expect(result.problems[0]!.line).toBe(lineNo);
  });
});

// One row per YAML slip, made in a real example: one message, at the line that is wrong, in words
// about what is on that line (no parser jargon).
const EXAMPLE = readFileSync(exampleFile('three-pis-ceph'), 'utf8');
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
const syntaxRows: { name: string; edit: (t: string) => string; at: string; message: RegExp }[] = [
  { name: 'one space too many before a key', edit: (t) => t.replace('    address: 10.20.0.12', '     address: 10.20.0.12'), at: 'address: 10.20.0.12',
    message: /"address" is indented 5 spaces, more than "name" on line 21 \(4 spaces\).*Line up the fields of one mapping: indent "address" by 4 spaces, like "name"\.$/ },
  { name: 'a key indented two further', edit: (t) => t.replace('    ipv4_range:', '      ipv4_range:'), at: 'ipv4_range:',
    message: /"ipv4_range" is indented 6 spaces, more than "ipv4_gateway" on line \d+ \(4 spaces\)/ },
  { name: 'one space too few', edit: (t) => t.replace('  gateway: 10.20.0.1', ' gateway: 10.20.0.1'), at: 'gateway: 10.20.0.1',
    message: /"gateway" is indented 1 space, which lines up with nothing above it.*Indent "gateway" by 2 spaces to put it beside "subnet"/ },
  { name: 'a list item\'s field one space short', edit: (t) => t.replace('    address: 10.20.0.13', '   address: 10.20.0.13'), at: 'address: 10.20.0.13',
    message: /"address" is indented 3 spaces.*Indent "address" by 4 spaces to put it beside "name"\.$/ },
  { name: 'a tab before a key', edit: (t) => t.replace('    address: 10.20.0.12', '\taddress: 10.20.0.12'), at: 'address: 10.20.0.12',
    message: /this line is indented with a tab\. YAML indents with spaces only/ },
  { name: 'tabs on two lines', edit: (t) => t.replace('  subnet:', '\tsubnet:').replace('  gateway:', '\tgateway:'), at: 'subnet:',
    message: /this line is indented with a tab \(so is line 13\)\./ },
  { name: 'a colon left out', edit: (t) => t.replace('  name: shelf', '  name shelf'), at: 'name shelf',
    message: /"name shelf" is neither "key: value" nor a list item.*A colon may be missing after the key: "name: shelf"\./ },
  { name: 'no space after a colon', edit: (t) => t.replace('  name: shelf', '  name:shelf'), at: 'name:shelf',
    message: /"name:shelf" has no space after its colon\. Put a space after the colon: "name: shelf"\./ },
  { name: 'a quote left open', edit: (t) => t.replace('  name: shelf', '  name: "shelf'), at: 'name: "shelf',
    message: /the " opened on this line is never closed/ },
  { name: 'a brace left open', edit: (t) => t.replace('    uplink: { interface: eth1 }\n    disks:\n      ceph: [/dev/disk/by-path/platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1:1.0-scsi-0:0:0:0]\n  - name: pi2',
    '    uplink: { interface: eth1\n    disks:\n      ceph: [/dev/disk/by-path/platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1:1.0-scsi-0:0:0:0]\n  - name: pi2'), at: 'uplink: { interface: eth1\n',
    message: /the "\{" on this line is not closed with "\}"/ },
  { name: 'a colon inside a value', edit: (t) => t.replace('timezone: Europe/Berlin', 'timezone: Europe: Berlin'), at: 'timezone:',
    message: /the value of "timezone" holds a colon and a space \(Europe: Berlin\)\. Quote the value/ },
  { name: 'a field given twice', edit: (t) => t.replace('  domain: shelf.internal', '  name: other'), at: 'name: other',
    message: /"name" is given twice in one mapping \(first on line 4\)/ },
];

describe('YAML syntax mistakes', () => {
  it.each(syntaxRows)('$name: one message, at its line, in plain words', ({ edit, at, message }) => {
    const text = edit(EXAMPLE);
    expect(text).not.toBe(EXAMPLE);
    const result = validateCluster(text, 'shelf.yaml');
    if (result.ok) throw new Error('expected a syntax error');
    expect(result.problems).toHaveLength(1);
    const line = lineOf(text, at.replace(/\n$/, ''));
    const said = formatProblem(result.problems[0]!);
    expect(said).toMatch(new RegExp(`^shelf\\.yaml:${line}: the file is not valid YAML: `));
    expect(said).toMatch(message);
    expect(said).not.toMatch(/Nested mappings|Implicit keys|compact mappings|Implicit map keys|at line \d+, column/);
  });

  it('finds no indentation mistake in any valid example', () => {
    for (const name of exampleNames()) expect(indentationMistake(readFileSync(exampleFile(name), 'utf8').split('\n'))).toBeUndefined();
  });
});
