// The cluster file's shape once the schema has passed: snake_case, defaults not yet applied.
// Only config/ may use it; normalizeCluster() turns it into the Cluster the core sees.

export type RawDisk = string | { path: string; wipe?: boolean; encrypt?: boolean };

export interface RawDiskFilter { find: string; find_min?: number; find_max?: number; wipe?: boolean; encrypt?: boolean }

export interface RawNode {
  name: string;
  address: string;
  interface?: string;
  mac?: string;
  initiator?: boolean;
  underlay_address?: string;
  uplink?: { interface?: string; mac?: string; mode?: 'unconfigured' | 'bridge'; bridge?: string };
  disks?: { local?: RawDisk; ceph?: RawDisk[] };
  nics?: { interface: string; mac?: string; address: string }[];
}

export interface RawCluster {
  cluster: { name: string; domain: string };
  timezone?: string;
  admin: { user: string; ssh_keys: string[] };
  network: { subnet: string; gateway: string; dns: string[]; ntp?: string[]; interface?: string; driver?: string };
  nodes: RawNode[];
  disks?: { local?: RawDiskFilter[]; ceph?: RawDiskFilter[] };
  microcloud?: {
    release?: 2 | 3;
    channels?: Partial<Record<'microcloud' | 'lxd' | 'microceph' | 'microovn', string>>;
    discovery?: 'multicast' | 'unicast';
    lookup_timeout?: number;
    session_timeout?: number;
    status_port?: number;
    grow?: boolean;
    join_ticket_days?: number;
    snaps?: { source?: 'store' | 'bundle'; server?: string };
    ovn?: { ipv4_gateway?: string; ipv4_range?: string; ipv6_gateway?: string; dns_servers?: string[]; underlay_subnet?: string };
    ceph?: { cephfs?: boolean; internal_network?: string; public_network?: string };
  };
}
