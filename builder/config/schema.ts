// JSON Schema of the cluster file. `additionalProperties: false` everywhere: a
// misspelt key must fail here, because MicroCloud itself ignores unknown keys.
// `hint` is our own annotation keyword: what to do when that field is wrong.

const NAME = '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$';
const IFNAME = '^[A-Za-z0-9_.-]{1,15}$';
const MAC = '^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$';
const CHANNEL = '^[a-z0-9][a-z0-9.-]*(/(stable|candidate|beta|edge))?(/[a-z0-9-]+)?$';

const str = (hint: string, extra: object = {}) => ({ type: 'string', minLength: 1, hint, ...extra });
const ipv4 = (hint: string) => str(hint, { format: 'ipv4' });
const cidr = (hint: string) => str(hint, { format: 'ipv4-cidr' });
const timeout = (min: number, hint: string) => ({ type: 'integer', minimum: min, maximum: 3600, hint });

const disk = {
  type: ['string', 'object'],
  hint: 'Give a device path such as /dev/disk/by-id/usb-..., or {path, wipe, encrypt}.',
  pattern: '^/dev/\\S+$',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: str('Use a device path under /dev, preferably /dev/disk/by-id/...', { pattern: '^/dev/\\S+$' }),
    wipe: { type: 'boolean', hint: 'true wipes the disk before use; false (the default) only uses an empty disk.' },
    encrypt: { type: 'boolean', hint: 'true encrypts the Ceph OSD with LUKS.' },
  },
};

const diskFilter = (kind: 'local' | 'ceph') => ({
  type: 'object',
  additionalProperties: false,
  required: ['find'],
  hint: kind === 'ceph'
    ? 'Give {find, find_min, find_max, wipe, encrypt}, e.g. {find: "type == usb && size > 100GiB", find_min: 3, wipe: true}.'
    : 'Give {find, find_min, find_max, wipe}, e.g. {find: "type == nvme", wipe: true}.',
  properties: {
    find: str('Write an expression over LXD disk fields, e.g. "type == usb && size > 100GiB".'),
    find_min: { type: 'integer', minimum: 0, hint: kind === 'ceph'
      ? 'Give how many disks the filter must find over all nodes it covers, at least 1.'
      : 'Give how many disks each node must find, at least 1 (the default).' },
    find_max: { type: 'integer', minimum: 0, hint: 'Give the most disks to take, or 0 for no limit.' },
    wipe: { type: 'boolean', hint: 'true wipes matched disks; false (the default) only takes empty ones.' },
    // Accepted here so the rules can say plainly that it is Ceph-only.
    encrypt: { type: 'boolean', hint: 'true encrypts the Ceph OSDs with LUKS.' },
  },
});

const nicName = (hint: string) => str(`${hint} Interface names have at most 15 characters: letters, digits, . _ -.`, { pattern: IFNAME });
const mac = str('Write a MAC address as six hex pairs separated by colons, e.g. dc:a6:32:01:02:03.', { pattern: MAC });

export const clusterSchema = {
  $id: 'https://microcloud-pi/cluster.schema.json',
  type: 'object',
  additionalProperties: false,
  required: ['cluster', 'admin', 'network', 'nodes'],
  properties: {
    cluster: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'domain'],
      properties: {
        name: str('Use lowercase letters, digits and dashes, e.g. shelf-lab.', { pattern: NAME, maxLength: 40 }),
        domain: str('Use a DNS domain such as lab.internal.', {
          pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$', maxLength: 200,
        }),
      },
    },
    timezone: str('Use an IANA zone name such as Etc/UTC or Europe/Berlin.', { pattern: '^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$' }),
    admin: {
      type: 'object',
      additionalProperties: false,
      required: ['user', 'ssh_keys'],
      properties: {
        user: str('Use a login name: lowercase letter first, then letters, digits, _ or -.', {
          pattern: '^[a-z_][a-z0-9_-]{0,31}$',
        }),
        ssh_keys: {
          type: 'array', minItems: 1,
          hint: 'List at least one SSH public key (the contents of ~/.ssh/id_ed25519.pub); password logins are off.',
          items: str('Paste one public key line, e.g. "ssh-ed25519 AAAA... you@laptop".'),
        },
      },
    },
    network: {
      type: 'object',
      additionalProperties: false,
      required: ['subnet', 'gateway', 'dns'],
      properties: {
        subnet: cidr('Write the intra-cluster subnet as CIDR, e.g. 10.0.0.0/24.'),
        gateway: ipv4('Write the intra-cluster gateway as an IPv4 address, e.g. 10.0.0.1.'),
        dns: { type: 'array', minItems: 1, hint: 'List at least one DNS server address.',
          items: ipv4('Write each DNS server as an IPv4 address.') },
        ntp: { type: 'array', hint: 'List NTP server names or addresses.',
          items: str('Write each NTP server as a host name or address.', { pattern: '^[A-Za-z0-9.:-]+$' }) },
        interface: nicName('Name the intra-cluster NIC as the kernel does, e.g. eth0.'),
        driver: str('Name a kernel driver such as bcmgenet (Pi 4) or macb (Pi 5).', { pattern: '^[A-Za-z0-9_-]+$' }),
      },
    },
    nodes: {
      type: 'array',
      hint: 'List the Pis, each with at least a name and an address.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'address'],
        properties: {
          name: str('Use the node\'s hostname: lowercase letters, digits and dashes.'),
          address: ipv4('Write the static intra-cluster address as IPv4, e.g. 10.0.0.11.'),
          interface: nicName('Name this node\'s intra-cluster NIC, e.g. eth0.'),
          mac: mac,
          initiator: { type: 'boolean', hint: 'Set initiator: true on exactly one node, or on none to use the first.' },
          underlay_address: ipv4('Write the OVN underlay address as IPv4 inside microcloud.ovn.underlay_subnet.'),
          uplink: {
            type: 'object',
            additionalProperties: false,
            properties: {
              interface: nicName('Name the uplink NIC, e.g. eth1, or give its mac instead.'),
              mac,
              mode: { enum: ['unconfigured', 'bridge'], hint: 'Use unconfigured (up, no address) or bridge.' },
              bridge: nicName('Name the bridge, e.g. br-uplink.'),
            },
          },
          disks: {
            type: 'object',
            additionalProperties: false,
            properties: {
              local: disk,
              ceph: { type: 'array', hint: 'List the disks MicroCeph may use on this node.', items: disk },
            },
          },
          nics: {
            type: 'array',
            hint: 'List NICs for dedicated networks (Ceph, OVN underlay), each {interface, mac, address}.',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['interface', 'address'],
              hint: 'Give {interface, address} and optionally the mac to find the NIC by.',
              properties: {
                interface: nicName('Name the NIC, e.g. eth2 (with mac: the name it is given).'),
                mac,
                address: ipv4('Write the NIC\'s static address as IPv4 inside microcloud.ceph.internal_network, public_network or ovn.underlay_subnet.'),
              },
            },
          },
        },
      },
    },
    disks: {
      type: 'object',
      additionalProperties: false,
      hint: 'Give disk filters for nodes without explicit disks: local and/or ceph, each a list.',
      properties: {
        local: { type: 'array', hint: 'List filters for the local ZFS disk.', items: diskFilter('local') },
        ceph: { type: 'array', hint: 'List filters for MicroCeph disks.', items: diskFilter('ceph') },
      },
    },
    microcloud: {
      type: 'object',
      additionalProperties: false,
      properties: {
        release: { enum: [2, 3], hint: 'Use 2 (the LTS: LXD 5.21) or 3 (the feature track: LXD 6).' },
        channels: {
          type: 'object',
          additionalProperties: false,
          hint: 'Override snap channels for microcloud, lxd, microceph or microovn.',
          properties: Object.fromEntries(['microcloud', 'lxd', 'microceph', 'microovn'].map((snap) =>
            [snap, str(`Write a snap channel such as 5.21/stable for ${snap}.`, { pattern: CHANNEL })])),
        },
        discovery: { enum: ['multicast', 'unicast'], hint: 'Use multicast, or unicast where the network drops multicast.' },
        lookup_timeout: timeout(60, 'Give seconds between 60 and 3600; Pis that boot minutes apart need several minutes.'),
        session_timeout: timeout(300, 'Give seconds between 300 and 3600 (MicroCloud\'s maximum).'),
        status_port: { type: 'integer', minimum: 1024, maximum: 65535, hint: 'Use an unprivileged TCP port, e.g. 9180.' },
        grow: { type: 'boolean', hint: 'true (the default) lets a node added to this file later join by itself; false leaves adding nodes to a person.' },
        snaps: {
          type: 'object',
          additionalProperties: false,
          hint: 'Give {source: store}, or {source: bundle, server: "10.0.0.5"} for the computer running build-image serve.',
          properties: {
            source: { enum: ['store', 'bundle'], hint: 'Use store (each Pi downloads from the Snap Store) or bundle (from build-image serve and the peers).' },
            server: str('Write the intra-cluster IPv4 address of the computer running build-image serve, optionally with :PORT, e.g. 10.0.0.5 or 10.0.0.5:8555.',
              { format: 'ipv4-port' }),
          },
        },
        join_ticket_days: { type: 'integer', minimum: 1, maximum: 365,
          hint: 'Give how many days a card may lie unused and still join, from 1 to 365 (default 28); after that, rebuild it.' },
        ovn: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ipv4_gateway: cidr('Write the uplink gateway as address/prefix, e.g. 192.168.1.1/24.'),
            ipv4_range: str('Write the range as start-end, e.g. 192.168.1.100-192.168.1.150.', {
              format: 'ipv4-range' }),
            ipv6_gateway: str('Write the IPv6 gateway as address/prefix, e.g. fd00::1/64.', { format: 'ipv6-cidr' }),
            dns_servers: { type: 'array', hint: 'List DNS servers for the OVN uplink.',
              items: str('Write each DNS server as an IPv4 or IPv6 address.', { format: 'ip' }) },
            underlay_subnet: cidr('Write the underlay subnet as CIDR, e.g. 10.1.0.0/24.'),
          },
        },
        ceph: {
          type: 'object',
          additionalProperties: false,
          properties: {
            cephfs: { type: 'boolean', hint: 'true adds a CephFS pool.' },
            internal_network: cidr('Write a network CIDR, e.g. 10.0.0.0/24.'),
            public_network: cidr('Write a network CIDR, e.g. 10.0.0.0/24.'),
          },
        },
      },
    },
  },
} as const;
