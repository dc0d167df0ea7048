// node.json: what the first-boot service on one Pi needs to know about its cluster. No secret
// goes in here (it is world-readable); the passphrase stays in the root-only preseed.
import { issueTicket, operatorPublicKey } from '../../firstboot/join/join-ticket.js';
import { issueIdentity } from '../../firstboot/join/node-identity.js';
import { usesCeph } from '../config/topology.js';
import { formatCidr, type Cluster, type Discovery, type Secret, type SnapChannels, type SnapSource } from '../config/types.js';
import { nodeNamed } from './node-named.js';
import { planPreflightNeeds, type PreflightNeeds } from './preflight-needs.js';
import { planPreseedFilters, planPreseedSystem, type Preseed, type PreseedSystem } from './preseed.js';

export const NODE_CONFIG_PATH = '/var/lib/microcloud-pi/node.json';
export const PRESEED_PATH = '/var/lib/microcloud-pi/preseed.yaml';

export interface NodeConfig {
  version: 1;
  cluster: string;
  node: string;
  address: string;
  intraInterface: string;
  initiator: string;
  isInitiator: boolean;
  discovery: Discovery;
  peers: { name: string; address: string }[];
  snaps: SnapChannels;
  /**
   * Where the snaps come from. Absent means the Snap Store: a store cluster's node.json (and so
   * its cards' instance-id) stays as it was before bundles existed.
   */
  snapSource?: SnapSource;
  lookupTimeoutSeconds: number;
  sessionTimeoutSeconds: number;
  statusPort: number;
  preseedPath: string;
  /** What verification must find once the cluster has formed. */
  expect: { members: number; ceph: boolean; ovn: boolean };
  /** What this Pi must have before the preseed runs. */
  preflight: PreflightNeeds;
  /** The intra-cluster network (CIDR): an add session's lookup subnet, and where join requests may come from. */
  subnet: string;
  /** Joining a formed cluster: allowed at all, this node's part of the add preseed, and whether it replaces a dead member of its name. */
  join: { grow: boolean; replace: boolean; system: PreseedSystem; filters?: NonNullable<Preseed['storage']>;
    /** `microcloud.ovn.underlay_subnet`: a joining node's underlay address must lie in it. */
    underlaySubnet?: string;
    /** The operator's Ed25519 public key (raw 32 bytes, base64): a member admits only cards whose ticket it signed. Absent: built before join tickets, checks none. */
    operatorKey?: string;
    /**
     * This card's join ticket (join-ticket.ts). World-readable here, and that is acceptable: a
     * ticket alone signs no join request (that takes the join key, from the passphrase in the
     * root-only preseed), it names only this node at its own address, and a member takes it once,
     * so after this node has joined it admits no one. Whoever can read the passphrase too holds
     * no more than the card itself gives whoever holds it.
     */
    ticket?: string;
    /**
     * This card's identity (node-identity.ts): its own public key, sealed by the operator with its
     * name and address. It signs every answer with the private half (root-only, NODE_KEY_PATH), so
     * only this node can speak for it to its peers and to `build-image status`.
     */
    identity?: string };
}

/**
 * The disk filters for an add, where `systems` lists only the new machine. MicroCloud sums a Ceph
 * filter's counts across the systems listed, so the formation's find_min (often 3: one disk on
 * each of three Pis) cannot be met by one new Pi: it contributes at least one disk of its own.
 */
export function addFilters(filters: NonNullable<Preseed['storage']>): NonNullable<Preseed['storage']> {
  return {
    ...(filters.local ? { local: filters.local } : {}),
    ...(filters.ceph ? { ceph: filters.ceph.map((f) => ({ ...f, find_min: 1 })) } : {}),
  };
}

/** A build's join tickets: signed with the operator's key (PKCS8 DER base64) at `issuedMs`, passed in to keep rendering pure. */
export interface TicketIssue { readonly operatorKey: Secret; readonly issuedMs: number }

/** How one node's image is built: `--replace` marks a Pi that takes over a dead member's name; `ticket`: without it the card carries none. */
export interface SeedOptions { readonly replace?: boolean; readonly ticket?: TicketIssue }

const DAY_MS = 86_400_000;

/** The card's own key pair and identity, the same for the same build (its private half goes to a root-only file). */
export function cardIdentity(cluster: Cluster, nodeName: string, issue: TicketIssue): { readonly privateKey: string; readonly identity: string } {
  const node = nodeNamed(cluster, nodeName);
  return issueIdentity(issue.operatorKey, { cluster: cluster.name, node: node.name, address: node.address, issued: issue.issuedMs });
}

/** node.json's operator key, this card's ticket (good from the build for microcloud.join_ticket_days) and its identity. */
function ticketFor(cluster: Cluster, node: { name: string; address: string }, replace: boolean, issue: TicketIssue) {
  return {
    operatorKey: operatorPublicKey(issue.operatorKey),
    ticket: issueTicket(issue.operatorKey, { cluster: cluster.name, node: node.name, address: node.address, replace,
      issued: issue.issuedMs, expires: issue.issuedMs + cluster.microcloud.joinTicketDays * DAY_MS }),
    identity: cardIdentity(cluster, node.name, issue).identity,
  };
}

export function planNodeConfig(cluster: Cluster, nodeName: string, options: SeedOptions = {}): NodeConfig {
  const node = nodeNamed(cluster, nodeName);
  const initiator = cluster.nodes.find((n) => n.initiator)!;
  const formationFilters = planPreseedFilters(cluster);
  const filters = formationFilters && addFilters(formationFilters);
  return {
    version: 1,
    cluster: cluster.name,
    node: node.name,
    address: node.address,
    intraInterface: node.intraNic.name,
    initiator: initiator.name,
    isInitiator: node.initiator,
    discovery: cluster.microcloud.discovery,
    peers: cluster.nodes.filter((n) => n !== node).map((n) => ({ name: n.name, address: n.address })),
    snaps: cluster.microcloud.channels,
    ...(cluster.microcloud.snapSource.kind === 'bundle' ? { snapSource: cluster.microcloud.snapSource } : {}),
    lookupTimeoutSeconds: cluster.microcloud.lookupTimeoutSeconds,
    sessionTimeoutSeconds: cluster.microcloud.sessionTimeoutSeconds,
    statusPort: cluster.statusPort,
    preseedPath: PRESEED_PATH,
    expect: {
      members: cluster.nodes.length,
      ceph: usesCeph(cluster),
      ovn: cluster.nodes.some((n) => n.uplink) || !!cluster.microcloud.ovn.ipv4Gateway || !!cluster.microcloud.ovn.ipv6Gateway,
    },
    preflight: planPreflightNeeds(cluster, node),
    subnet: formatCidr(cluster.network.subnet),
    join: { grow: cluster.microcloud.grow, replace: options.replace ?? false, system: planPreseedSystem(cluster, node),
      ...(filters ? { filters } : {}),
      ...(cluster.microcloud.ovn.underlaySubnet ? { underlaySubnet: formatCidr(cluster.microcloud.ovn.underlaySubnet) } : {}),
      ...(options.ticket ? ticketFor(cluster, node, options.replace ?? false, options.ticket) : {}) },
  };
}

export const renderNodeConfig = (cluster: Cluster, nodeName: string, options: SeedOptions = {}): string =>
  `${JSON.stringify(planNodeConfig(cluster, nodeName, options), null, 2)}\n`;
