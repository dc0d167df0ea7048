import type { Cluster, ClusterNode } from '../config/types.js';

/** A node name that is not in the cluster: a usage error, the CLI checks it first. */
export class UnknownNodeError extends Error {
  override name = 'UnknownNodeError';
  constructor(readonly node: string, readonly known: readonly string[]) {
    super(`There is no node "${node}" in this cluster. Known nodes: ${known.join(', ')}.`);
  }
}

export function nodeNamed(cluster: Cluster, name: string): ClusterNode {
  const node = cluster.nodes.find((n) => n.name === name);
  if (!node) throw new UnknownNodeError(name, cluster.nodes.map((n) => n.name));
  return node;
}
