// `build-image status`: ask every node's first-boot endpoint where it stands, as one table.
import type { Cluster } from './config/types.js';
import type { NodeStatus, PeerStatusReader } from '../firstboot/run/types.js';

export interface StatusRow { readonly node: string; readonly address: string; readonly status?: NodeStatus }

export async function collectStatus(cluster: Cluster, read: PeerStatusReader): Promise<StatusRow[]> {
  return Promise.all(cluster.nodes.map(async (n) => {
    const status = await read(n.address, cluster.statusPort);
    return { node: n.name, address: n.address, ...(status ? { status } : {}) };
  }));
}

/** What a node is doing, in one line: its error, a member's add session, or its own detail. */
function detailOf(s: NodeStatus): string {
  if (s.lastError) return s.lastError.split('\n')[0]!;
  if (s.adding) return `${s.detail ?? ''}; adding ${s.adding.node}${s.adding.replacing ? ' in place of the removed member of that name' : ''}`;
  const added = s.added?.length ? `; added ${s.added.join(', ')}` : '';
  const via = s.step === 'done' && s.joining ? `; joined through ${s.joining.via}${s.joining.replacing ? ', replacing the dead member' : ''}` : '';
  return `${s.detail ?? ''}${via}${added}`;
}

/** A fixed-width table, one line per node, then what a stopped node needs from a person. Pure. */
export function formatStatusTable(rows: readonly StatusRow[]): string {
  const lines = [['NODE', 'ADDRESS', 'STEP', 'STATE', 'SINCE', 'DETAIL'], ...rows.map((r) => r.status
    ? [r.node, r.address, r.status.step, r.status.state, r.status.since, detailOf(r.status)]
    : [r.node, r.address, '-', 'no answer', '-', 'not booted yet, or not reachable from here'])];
  const widths = lines[0]!.map((_, col) => Math.max(...lines.map((l) => l[col]!.length)));
  const table = lines.map((l) => l.map((cell, col) => (col === l.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ').trimEnd());
  const details = rows.flatMap((r) => {
    const more = (r.status?.lastError ?? '').split('\n').slice(1);
    const host = r.status?.service?.hostname;
    const refused = r.status?.refused;
    const warnings = [...(refused ? [`turned away ${refused.node} at ${refused.at}: ${refused.reason}`] : []),
      ...(host && host !== r.node
      ? [`it answers as host "${host}", not "${r.node}": cloud-init did not apply its seed (is this the right card?)`] : []),
      ...r.status?.preflight?.warnings ?? []];
    if (!more.length && !warnings.length) return [];
    return ['', `${r.node}${r.status?.needsPerson ? ` stopped at ${r.status.step}; a person must act:` : ':'}`,
      ...more.map((l) => `  ${l}`), ...warnings.map((w) => `  warning: ${w}`)];
  });
  return [...table, ...details].join('\n') + '\n';
}
