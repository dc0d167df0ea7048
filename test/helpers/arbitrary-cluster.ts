// fast-check arbitraries for valid cluster files, with awkward text wherever the format allows
// free text (SSH key comments, disk paths), to prove the renderers keep YAML structure intact.
import fc from 'fast-check';

const KEY_BODY = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const AWKWARD = ['"', "'", ': ', ' #', '{', '}', '[', ']', '&', '*', '!', '|', '>', '%', '@', '`', '\\', ',', '- ', '?', 'é', '🥧', '\u00a0', '\t'];

const awkwardText = fc.array(fc.oneof(fc.constantFrom(...AWKWARD), fc.string({ minLength: 1, maxLength: 4 })), { maxLength: 8 })
  .map((parts) => parts.join('').replace(/[\r\n\u2028\u2029\u0085]/g, ''));

const sshKey = awkwardText.map((comment) => `ssh-ed25519 ${KEY_BODY} ${comment}`.trimEnd());
const diskPath = awkwardText.map((tail) => `/dev/disk/by-id/usb-${tail.replace(/\s/g, '_')}`);

export const arbitraryClusterDoc = fc.record({
  nodeCount: fc.integer({ min: 1, max: 6 }),
  subnetOctet: fc.integer({ min: 0, max: 255 }),
  ceph: fc.boolean(),
  cephfs: fc.boolean(),
  uplink: fc.constantFrom('none', 'interface', 'mac'),
  bridge: fc.boolean(),
  release: fc.constantFrom(2, 3),
  discovery: fc.constantFrom('multicast', 'unicast'),
  keys: fc.array(sshKey, { minLength: 1, maxLength: 3 }),
  disks: fc.array(diskPath, { minLength: 12, maxLength: 12 }),
  localDisk: fc.boolean(),
  underlay: fc.boolean(),
  initiator: fc.nat(),
  ntp: fc.boolean(),
}).map((p) => {
  const withCeph = p.ceph && p.nodeCount >= 3;
  const nodes = Array.from({ length: p.nodeCount }, (_, i) => ({
    name: `pi${i + 1}`,
    address: `10.${p.subnetOctet}.0.${11 + i}`,
    ...(i === p.initiator % p.nodeCount ? { initiator: true } : {}),
    ...(p.uplink === 'none' ? {} : {
      uplink: {
        ...(p.uplink === 'interface' ? { interface: 'eth1' } : { mac: `02:00:00:00:00:${(16 + i).toString(16)}` }),
        ...(p.bridge ? { mode: 'bridge' } : {}),
      },
    }),
    ...(withCeph || p.localDisk ? {
      disks: {
        ...(withCeph ? { ceph: [`${p.disks[i]}-ceph`] } : {}),
        ...(p.localDisk ? { local: `${p.disks[i + 6]}-local` } : {}),
      },
    } : {}),
    ...(p.underlay ? { underlay_address: `172.31.0.${11 + i}` } : {}),
  }));
  return {
    cluster: { name: 'prop', domain: 'prop.internal' },
    admin: { user: 'ops', ssh_keys: p.keys },
    network: { subnet: `10.${p.subnetOctet}.0.0/24`, gateway: `10.${p.subnetOctet}.0.1`, dns: ['10.0.0.53'],
      ...(p.ntp ? { ntp: ['time.example.org'] } : {}) },
    nodes,
    microcloud: {
      release: p.release,
      discovery: p.discovery,
      ...(p.uplink !== 'none' || p.underlay ? {
        ovn: {
          ...(p.uplink !== 'none' ? { ipv4_gateway: '192.168.50.1/24', ipv4_range: '192.168.50.100-192.168.50.150', dns_servers: ['192.168.50.1'] } : {}),
          ...(p.underlay ? { underlay_subnet: '172.31.0.0/24' } : {}),
        },
      } : {}),
      ...(withCeph ? { ceph: { cephfs: p.cephfs } } : {}),
    },
  };
});
