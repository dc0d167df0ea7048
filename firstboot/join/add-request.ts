// What a new node asks a formed member for, and the add preseed both of them then run.
// MicroCloud adds machines with a preseed that lists only the new machines in `systems` and
// names an initialised member as the initiator, run on that member and on the new machines
// (doc/how-to/member_add.md; cmd/microcloud/preseed.go: the initiator is not among the systems,
// so it is an add, and the initiator must already be initialised). No `ovn` or `ceph` section:
// the cluster has them already (an add picks up the existing UPLINK network and Ceph pools);
// the top-level disk filters stay, since they pick the new machine's disks. Pure.
import { stringify } from 'yaml';
import type { NodeConfig } from '../../builder/render/node-config.js';
import type { Preseed, PreseedFilter, PreseedSystem } from '../../builder/render/preseed.js';
import { cidrContains, isIPv4, parseCidr } from '../../builder/config/ipv4.js';
import { isFingerprint } from './microcloud-cert.js';

/** The signed body of a join request: this node's own part of the add preseed, nothing secret. */
export interface AddRequest {
  readonly node: string;
  readonly address: string;
  /** Built with `build-image --node NAME --replace`: a member may remove NAME first, once MicroCloud cannot reach it. */
  readonly replace: boolean;
  readonly system: PreseedSystem;
  readonly filters?: NonNullable<Preseed['storage']>;
  /** Nodes of this node's cluster file that it sees are not members yet: a member gathers them into one add session. */
  readonly newcomers?: readonly string[];
  /** The SHA-256 of the MicroCloud certificate this node joins with (microcloud-cert.ts): the member checks the new member holds it. */
  readonly fingerprint?: string;
}

/** An add session as the member plans it for a batch of new nodes: the add preseed without its passphrase (each side derives that). */
export type AddPlan = Omit<Preseed, 'session_passphrase'>;

export interface Member { readonly name: string; readonly address: string }

export const addRequestOf = (config: NodeConfig, newcomers: readonly string[] = [], fingerprint?: string): AddRequest => ({
  node: config.node, address: config.address, replace: config.join.replace, system: config.join.system,
  ...(config.join.filters ? { filters: config.join.filters } : {}),
  ...(newcomers.length ? { newcomers: [...newcomers] } : {}),
  ...(fingerprint ? { fingerprint } : {}),
});

/** The member's plan for one add session with every new node of the batch (the desk batches only requests that ask for the same disk filters). Pure. */
export function planAdd(config: NodeConfig, initiator: Member, requests: readonly AddRequest[]): AddPlan {
  const filters = requests[0]?.filters;
  return {
    ...(config.discovery === 'unicast' ? { initiator_address: initiator.address }
      : { initiator: initiator.name, lookup_subnet: config.subnet }),
    lookup_timeout: config.lookupTimeoutSeconds,
    session_timeout: config.sessionTimeoutSeconds,
    systems: requests.map((r) => r.system),
    ...(filters ? { storage: filters } : {}),
  };
}

/** The add preseed both sides run: the plan with the session passphrase in its place. Pure. */
export function withSessionPassphrase(plan: AddPlan, passphrase: string): Preseed {
  const { systems, storage, ...head } = plan;
  return { ...head, session_passphrase: passphrase, systems, ...(storage ? { storage } : {}) } as Preseed;
}

/** JSON with object keys sorted: two documents that say the same compare equal. */
const canonical = (value: unknown): string => JSON.stringify(value, (_, v: unknown) => (isObject(v)
  ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v));
const PLAN_KEYS = ['initiator', 'initiator_address', 'lookup_subnet', 'lookup_timeout', 'session_timeout', 'systems', 'storage'];

/**
 * A plan a joiner may run: from this member, with nothing an add preseed does not have, and saying
 * about this node exactly what it asked: its own `systems` entry and the disk filters that pick the
 * disks it wipes (a batch-mate's filters must never choose them). undefined when not. Pure.
 */
export function checkPlan(plan: unknown, member: Member, request: AddRequest): AddPlan | undefined {
  if (!isObject(plan) || !Array.isArray(plan.systems) || Object.keys(plan).some((k) => !PLAN_KEYS.includes(k))) return undefined;
  const fromMember = plan.initiator === member.name || plan.initiator_address === member.address;
  const mine = (plan.systems as unknown[]).filter(isObject).filter((s) => s.name === request.node);
  const sameStorage = canonical(plan.storage ?? null) === canonical(request.filters ?? null);
  return fromMember && mine.length === 1 && canonical(mine[0]) === canonical(request.system) && sameStorage ? plan as unknown as AddPlan : undefined;
}

/** YAML with every string double-quoted: nothing from a request can change the document's shape. */
export const renderAddPreseed = (preseed: Preseed): string =>
  `# MicroCloud add preseed (microcloud-pi join): run on the member named initiator and on the new machine.\n${
    stringify(preseed, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN', lineWidth: 0 })}`;

// ---- the member's reading of a request body: everything checked, nothing assumed ----

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const NIC = /^[A-Za-z0-9._-]{1,15}$/;
const DEVICE = /^\/dev\/[A-Za-z0-9._:+@/-]{1,200}$/;
const MAX_FILTERS = 8;
/** More new nodes than one cluster file holds. */
const MAX_NEWCOMERS = 256;
/** More disks than any Pi can hold; a filter's counts above it are a mistake or an attack. */
const MAX_DISK_COUNT = 64;

/** A device path under /dev that stays there: no empty, `.` or `..` segments. */
const isDevicePath = (path: string) => DEVICE.test(path) && path.split('/').slice(2).every((s) => s !== '' && s !== '.' && s !== '..');
const isNicName = (name: string) => NIC.test(name) && name !== '.' && name !== '..';
/** A key a sender chose, fit to be named in a reason: quoted, escaped, short. */
const quoted = (key: string) => JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}...` : key);

type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };
const bad = (reason: string): { ok: false; reason: string } => ({ ok: false, reason: `the request body is invalid: ${reason}` });
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const onlyKeys = (v: Record<string, unknown>, keys: readonly string[]) => {
  const extra = Object.keys(v).find((k) => !keys.includes(k));
  return extra === undefined ? undefined : quoted(extra);
};

function disk(value: unknown, withEncrypt: boolean): string | undefined {
  if (!isObject(value)) return 'a disk is not an object';
  const extra = onlyKeys(value, withEncrypt ? ['path', 'wipe', 'encrypt'] : ['path', 'wipe']);
  if (extra) return `unknown disk field ${extra}`;
  if (typeof value.path !== 'string' || !isDevicePath(value.path)) return 'a disk path is not a /dev path';
  if (typeof value.wipe !== 'boolean' || (value.encrypt !== undefined && typeof value.encrypt !== 'boolean'))
    return 'wipe and encrypt must be true or false';
  return undefined;
}

function filter(value: unknown, withEncrypt: boolean): string | undefined {
  if (!isObject(value)) return 'a disk filter is not an object';
  const extra = onlyKeys(value, withEncrypt ? ['find', 'find_min', 'find_max', 'wipe', 'encrypt'] : ['find', 'find_min', 'find_max', 'wipe']);
  if (extra) return `unknown filter field ${extra}`;
  const f = value as Partial<PreseedFilter>;
  if (typeof f.find !== 'string' || !f.find.length || f.find.length > 1000) return 'a filter has no find expression';
  const count = (n: unknown) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= MAX_DISK_COUNT;
  if (!count(f.find_min) || !count(f.find_max)) return `find_min and find_max must be whole numbers from 0 to ${MAX_DISK_COUNT}`;
  if (f.find_min! > f.find_max!) return 'find_min is more than find_max';
  if (typeof f.wipe !== 'boolean' || (f.encrypt !== undefined && typeof f.encrypt !== 'boolean')) return 'wipe and encrypt must be true or false';
  return undefined;
}

function system(value: unknown, node: string, address: string, underlaySubnet: string | undefined): string | undefined {
  if (!isObject(value)) return 'system is not an object';
  const extra = onlyKeys(value, ['name', 'address', 'ovn_uplink_interface', 'ovn_underlay_ip', 'storage']);
  if (extra) return `unknown system field ${extra}`;
  if (value.name !== node) return 'system.name is not the node';
  if (value.address !== undefined && value.address !== address) return 'system.address is not the node\'s address';
  if (value.ovn_uplink_interface !== undefined && (typeof value.ovn_uplink_interface !== 'string' || !isNicName(value.ovn_uplink_interface)))
    return 'ovn_uplink_interface is not an interface name';
  if (value.ovn_underlay_ip !== undefined) {
    if (typeof value.ovn_underlay_ip !== 'string' || !isIPv4(value.ovn_underlay_ip)) return 'ovn_underlay_ip is not an IPv4 address';
    const underlay = underlaySubnet ? parseCidr(underlaySubnet) : undefined;
    if (!underlay || !cidrContains(underlay, value.ovn_underlay_ip))
      return `ovn_underlay_ip ${value.ovn_underlay_ip} is outside the cluster's OVN underlay network${underlaySubnet ? ` ${underlaySubnet}` : ' (it has none)'}`;
  }
  if (value.storage === undefined) return undefined;
  if (!isObject(value.storage) || onlyKeys(value.storage, ['local', 'ceph'])) return 'storage has unknown fields';
  const { local, ceph } = value.storage;
  if (local !== undefined) {
    const why = disk(local, false);
    if (why) return why;
  }
  if (ceph !== undefined) {
    if (!Array.isArray(ceph) || ceph.length > 16) return 'storage.ceph is not a list of disks';
    for (const d of ceph) {
      const why = disk(d, true);
      if (why) return why;
    }
  }
  return undefined;
}

/** The member's reading of a verified request: a well-formed add request from the node's own address, in this cluster's networks. */
export function parseAddRequest(body: string, source: string, cluster: Pick<NodeConfig, 'subnet' | 'join'>): Parsed<AddRequest> {
  const { subnet } = cluster;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return bad('not JSON');
  }
  if (!isObject(value)) return bad('not an object');
  const extra = onlyKeys(value, ['node', 'address', 'replace', 'system', 'filters', 'newcomers', 'fingerprint']);
  if (extra) return bad(`unknown field ${extra}`);
  const { node, address, replace } = value;
  if (typeof node !== 'string' || !NAME.test(node)) return bad('node is not a host name');
  if (typeof address !== 'string' || !isIPv4(address)) return bad('address is not an IPv4 address');
  const cidr = parseCidr(subnet);
  if (!cidr || !cidrContains(cidr, address)) return bad(`address ${address} is outside the cluster network ${subnet}`);
  if (address !== source) return bad(`address ${address} is not the address the request came from (${source})`);
  if (typeof replace !== 'boolean') return bad('replace must be true or false');
  if (value.fingerprint !== undefined && !isFingerprint(value.fingerprint)) return bad('fingerprint is not a SHA-256 in hex');
  const why = system(value.system, node, address, cluster.join.underlaySubnet);
  if (why) return bad(why);
  if (value.newcomers !== undefined && (!Array.isArray(value.newcomers) || value.newcomers.length > MAX_NEWCOMERS
    || !value.newcomers.every((n) => typeof n === 'string' && NAME.test(n)))) return bad(`newcomers is not a list of at most ${MAX_NEWCOMERS} host names`);
  if (value.filters !== undefined) {
    if (!isObject(value.filters) || onlyKeys(value.filters, ['local', 'ceph'])) return bad('filters has unknown fields');
    for (const kind of ['local', 'ceph'] as const) {
      const list = value.filters[kind];
      if (list === undefined) continue;
      if (!Array.isArray(list) || list.length > MAX_FILTERS) return bad(`filters.${kind} is not a short list`);
      for (const f of list) {
        const whyNot = filter(f, kind === 'ceph');
        if (whyNot) return bad(whyNot);
      }
    }
  }
  return { ok: true, value: value as unknown as AddRequest };
}
