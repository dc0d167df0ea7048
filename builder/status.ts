// `build-image status`: ask every node's first-boot endpoint where it stands, as one table.
// Only a status signed with the cluster's join key (and, built with an operator key, by the node's
// own card) is a fact: anyone can answer at an address whose Pi has not booted yet. Every field is printed through terminalText (the network chose it).
import type { Cluster } from './config/types.js';
import type { NodeStatus, PeerStatusReader } from '../firstboot/run/types.js';
import type { Trust } from '../firstboot/join/join-auth.js';
import { terminalText } from './terminal-text.js';

export interface StatusRow {
  readonly node: string;
  readonly address: string;
  /** Signed with the cluster's join key for this read. */
  readonly status?: NodeStatus;
  /** Something answered, but not signed with the cluster's key: none of what it said is shown. */
  readonly unverified?: true;
}

/** Where a node stands, in the words of the summary line. */
export const PHASES = ['done', 'forming', 'joining', 'waiting', 'stopped', 'unverified', 'no answer'] as const;
export type Phase = (typeof PHASES)[number];

export function phaseOf(row: StatusRow): Phase {
  const status = row.status;
  if (!status) return row.unverified ? 'unverified' : 'no answer';
  if (status.step === 'done') return 'done';
  if (status.needsPerson) return 'stopped';
  if (status.joining) return 'joining';
  // A node that failed for now waits for systemd to start it again.
  if (status.state === 'waiting' || status.state === 'failed') return 'waiting';
  return 'forming';
}

/** "50 nodes: 47 done, 1 forming, 1 joining, 0 waiting, 1 stopped, 0 unverified, 0 no answer". Pure. */
export function formatSummary(rows: readonly StatusRow[]): string {
  const count = (phase: Phase) => rows.filter((r) => phaseOf(r) === phase).length;
  return `${rows.length} node${rows.length === 1 ? '' : 's'}: ${PHASES.map((p) => `${count(p)} ${p}`).join(', ')}`;
}

/** What `status --watch` does after this look: go on, or stop with an exit code and why. Pure. */
export type WatchVerdict = { readonly done: false } | { readonly done: true; readonly exitCode: number; readonly message: string };
/** `status --watch` exits with this when a node stopped and needs a person. */
export const EXIT_NEEDS_PERSON = 8;

/** Only signed statuses decide: an unverified answer is neither done nor stopped, so the watch goes on. */
export function watchVerdict(rows: readonly StatusRow[]): WatchVerdict {
  const stopped = rows.filter((r) => phaseOf(r) === 'stopped');
  if (stopped.length)
    return { done: true, exitCode: EXIT_NEEDS_PERSON, message: stopped.map((r) => terminalText(
      `${r.node} stopped at ${r.status!.step} and needs a person: ${(r.status!.lastError ?? '').split('\n')[0]}`)).join('\n') };
  if (rows.every((r) => phaseOf(r) === 'done')) return { done: true, exitCode: 0, message: `all ${rows.length} nodes are done` };
  return { done: false };
}

/**
 * Every node's status, read with the cluster's join key; a node whose answer is not signed
 * with it is read again without, only to tell "unverified" from "no answer". Without a key
 * (no secrets file) every answer is unverified.
 */
export async function collectStatus(cluster: Cluster, read: PeerStatusReader, key?: Trust): Promise<StatusRow[]> {
  return Promise.all(cluster.nodes.map(async (n): Promise<StatusRow> => {
    const signed = key ? await read(n.address, cluster.statusPort, key) : undefined;
    if (signed) return { node: n.name, address: n.address, status: signed };
    const answered = await read(n.address, cluster.statusPort);
    return { node: n.name, address: n.address, ...(answered ? { unverified: true as const } : {}) };
  }));
}

const unverifiedDetail = (keyless = false) => (keyless
  ? 'answers; not checked: this computer has no join key for the cluster (see the secrets file message)'
  : 'answers, but not signed by this node with this cluster\'s keys (another cluster, another card, or someone else at this address)');

/** A node on the site's agreed time, not NTP's (firstboot/clock/settle-clock.ts): what that costs, and the fix. */
const clockWarning = (source: NonNullable<NodeStatus['clock']>['source']): string =>
  `its clock is the site's agreed time (from ${source === 'own' ? 'its own clock' : source === 'serve' ? 'build-image serve' : `the ${source}`}), `
  + 'not NTP: the cluster agrees, but clocks drift apart and Ceph warns of clock skew within days. Give the site an NTP server in network.ntp.';

/** What a node is doing, in one line: its error, a member's add session, or its own detail. */
function detailOf(s: NodeStatus): string {
  if (s.lastError) return s.lastError.split('\n')[0]!;
  if (s.adding) return `${s.detail ?? ''}; adding ${s.adding.node}${s.adding.replacing ? ' in place of the removed member of that name' : ''}`;
  const added = s.added?.length ? `; added ${s.added.join(', ')}` : '';
  const via = s.step === 'done' && s.joining ? `; joined through ${s.joining.via}${s.joining.replacing ? ', replacing the dead member' : ''}` : '';
  return `${s.detail ?? ''}${via}${added}`;
}

/**
 * The summary line, then a fixed-width table of the nodes that are not done (every node with
 * `all`), then what a stopped node needs from a person and the warnings worth a look. Pure.
 */
export function formatStatusTable(allRows: readonly StatusRow[], options: { all?: boolean; keyless?: boolean } = {}): string {
  const rows = options.all ? allRows : allRows.filter((r) => phaseOf(r) !== 'done');
  const lines = [['NODE', 'ADDRESS', 'STEP', 'STATE', 'SINCE', 'DETAIL'], ...rows.map((r) => (r.status
    ? [r.node, r.address, r.status.step, r.status.state, r.status.since, detailOf(r.status)]
    : [r.node, r.address, '-', phaseOf(r), '-', r.unverified ? unverifiedDetail(options.keyless) : 'not booted yet, or not reachable from here'])
    .map((cell) => terminalText(cell)))];
  const widths = lines[0]!.map((_, col) => Math.max(...lines.map((l) => l[col]!.length)));
  const table = rows.length ? lines.map((l) => l.map((cell, col) => (col === l.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ').trimEnd())
    : ['every node is done (--all lists them)'];
  // A refused join or a wrong host name matters on a done node too: listed even when its line is not.
  const details = allRows.flatMap((r) => {
    const more = (r.status?.lastError ?? '').split('\n').slice(1);
    const host = r.status?.service?.hostname;
    const refusals = r.status?.refusals ?? (r.status?.refused ? [r.status.refused] : []);
    const warnings = [...refusals.map((refused) => `turned away ${refused.node} at ${refused.at}: ${refused.reason}`),
      ...(host && host !== r.node
      ? [`it answers as host "${terminalText(host, 64)}", not "${r.node}": cloud-init did not apply its seed (is this the right card?)`] : []),
      ...(r.status?.clock && r.status.clock.source !== 'ntp' ? [clockWarning(r.status.clock.source)] : []),
      ...(rows.includes(r) ? r.status?.preflight?.warnings ?? [] : [])];
    if (!more.length && !warnings.length) return [];
    return ['', terminalText(`${r.node}${r.status?.needsPerson ? ` stopped at ${r.status.step}; a person must act:` : ':'}`),
      ...more.map((l) => `  ${terminalText(l)}`), ...warnings.map((w) => `  warning: ${terminalText(w)}`)];
  });
  return [formatSummary(allRows), ...table, ...details].join('\n') + '\n';
}
