// meta-data: cloud-init runs its per-instance modules once per instance-id, so the id carries a
// hash of what the node is told: a changed config re-runs cloud-init on a reflashed card.
import { createHash } from 'node:crypto';
import type { Cluster } from '../config/types.js';
import { nodeNamed } from './node-named.js';
import { renderTemplate } from './templates.js';

export function instanceId(cluster: Cluster, nodeName: string, seedContent: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of seedContent) hash.update(`${part.length}:`).update(part);
  return `mcpi-${cluster.name}-${nodeNamed(cluster, nodeName).name}-${hash.digest('hex').slice(0, 12)}`;
}

export const renderMetaData = (cluster: Cluster, nodeName: string, seedContent: readonly string[]): string =>
  renderTemplate('meta-data', {
    instanceId: instanceId(cluster, nodeName, seedContent),
    hostname: nodeNamed(cluster, nodeName).name,
  });
