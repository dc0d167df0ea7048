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

/** A fixed-width table. Pure. */
export function formatStatusTable(rows: readonly StatusRow[]): string {
  const lines = [['NODE', 'ADDRESS', 'STEP', 'STATE', 'SINCE', 'DETAIL'], ...rows.map((r) => r.status
    ? [r.node, r.address, r.status.step, r.status.state, r.status.since, r.status.lastError ?? r.status.detail ?? '']
    : [r.node, r.address, '-', 'no answer', '-', 'not booted yet, or not reachable from here'])];
  const widths = lines[0]!.map((_, col) => Math.max(...lines.map((l) => l[col]!.length)));
  return lines.map((l) => l.map((cell, col) => (col === l.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ').trimEnd())
    .join('\n') + '\n';
}
