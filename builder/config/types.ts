// The validated cluster: the only shape the core (renderers, planners) ever sees.
// Produced by normalizeCluster() after the schema passed; every default is applied.

export type MicroCloudRelease = 2 | 3;
export type Discovery = 'multicast' | 'unicast';
export type UplinkMode = 'unconfigured' | 'bridge';
export type SnapName = 'microcloud' | 'lxd' | 'microceph' | 'microovn';
export type SnapChannels = Readonly<Record<SnapName, string>>;

export interface Disk {
  readonly path: string;
  readonly wipe: boolean;
  readonly encrypt: boolean;
}

/** How a NIC is found: by its kernel name, or by MAC/driver and renamed to `name`. */
export interface NicMatch {
  readonly name: string;
  readonly macaddress?: string;
  readonly driver?: string;
}

export interface Uplink {
  readonly nic: NicMatch;
  readonly mode: UplinkMode;
  /** Bridge name when mode is 'bridge'. */
  readonly bridge?: string;
}

/** MicroCloud's disk filter: an expression over LXD's disk resources (see disk-filter.ts). */
export interface DiskFilter {
  readonly find: string;
  /** Disks to match at least (Ceph: summed over the nodes the filter covers; local: per node). */
  readonly findMin: number;
  /** At most; 0 means no limit. */
  readonly findMax: number;
  readonly wipe: boolean;
  /** Ceph only: the local ZFS pool is never encrypted by MicroCloud. */
  readonly encrypt: boolean;
}

/** Cluster-level filters; they choose disks only on nodes without explicit disks of that kind. */
export interface DiskFilters {
  readonly local: readonly DiskFilter[];
  readonly ceph: readonly DiskFilter[];
}

/** A NIC of its own for a dedicated network (Ceph or the OVN underlay): static, no route. */
export interface DedicatedNic {
  readonly nic: NicMatch;
  readonly address: string;
}

export interface ClusterNode {
  /** Position in the cluster file's `nodes` list, for messages. */
  readonly index: number;
  readonly name: string;
  readonly fqdn: string;
  readonly address: string;
  readonly intraNic: NicMatch;
  readonly uplink?: Uplink;
  readonly localDisk?: Disk;
  readonly cephDisks: readonly Disk[];
  readonly underlayAddress?: string;
  readonly dedicatedNics: readonly DedicatedNic[];
  readonly initiator: boolean;
}

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
}

export interface IntraNetwork {
  readonly subnet: Cidr;
  readonly gateway: string;
  readonly dns: readonly string[];
  readonly ntp: readonly string[];
}

export interface OvnSettings {
  readonly ipv4Gateway?: Cidr;
  readonly ipv4Range?: { readonly start: string; readonly end: string };
  readonly ipv6Gateway?: string;
  readonly dnsServers: readonly string[];
  readonly underlaySubnet?: Cidr;
}

export interface CephSettings {
  readonly cephfs: boolean;
  readonly internalNetwork?: Cidr;
  readonly publicNetwork?: Cidr;
}

/**
 * Where each Pi gets its snaps: the Snap Store, or a bundle (`build-image snaps`) served by the
 * operator's computer (`build-image serve`) and passed on by the nodes that have installed it.
 */
export type SnapSource =
  | { readonly kind: 'store' }
  | { readonly kind: 'bundle'; readonly server: { readonly address: string; readonly port: number } };

export interface MicroCloudSettings {
  readonly release: MicroCloudRelease;
  readonly channels: SnapChannels;
  readonly discovery: Discovery;
  readonly lookupTimeoutSeconds: number;
  readonly sessionTimeoutSeconds: number;
  /** A node added to the file after formation (or replacing a dead one) joins by itself. */
  readonly grow: boolean;
  /** How long a card's join ticket is good for after the build: a lost, unused card stops working then. */
  readonly joinTicketDays: number;
  readonly snapSource: SnapSource;
  readonly ovn: OvnSettings;
  readonly ceph: CephSettings;
}

export interface AdminUser {
  readonly name: string;
  readonly sshKeys: readonly string[];
}

export interface Cluster {
  readonly name: string;
  readonly domain: string;
  readonly timezone: string;
  readonly admin: AdminUser;
  readonly network: IntraNetwork;
  readonly nodes: readonly ClusterNode[];
  readonly diskFilters: DiskFilters;
  readonly microcloud: MicroCloudSettings;
  /** Port of each node's read-only first-boot status endpoint. */
  readonly statusPort: number;
}

/** Secrets live beside the cluster file, never in it. */
export interface ClusterSecrets {
  readonly sessionPassphrase: Secret;
  /** Ed25519, PKCS8 DER base64: signs each card's join ticket. Absent only when CI gives a passphrase and no key. */
  readonly operatorKey?: Secret;
}

/** A branded string: loggers and reports refuse it by type. */
export type Secret = string & { readonly __secret: unique symbol };
export const asSecret = (value: string): Secret => value as Secret;

export const formatCidr = (cidr: Cidr): string => `${cidr.address}/${cidr.prefix}`;
