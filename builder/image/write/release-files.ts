// manifest.json beside the images (SHA256SUMS is written from it: hash-file.ts). Pure data; merged
// with what an earlier build of other nodes left, so building pi2 today keeps pi1's line from yesterday.
import type { NodeImage } from './build-node-image.js';

export interface Manifest {
  tool: { name: string; version: string };
  cluster: string;
  configSha256: string;
  base: { file: string; sha256: string };
  nodes: Record<string, Omit<NodeImage, 'seconds' | 'path' | 'node'> & { file: string }>;
}

export function mergeManifest(previous: Manifest | undefined, next: Manifest): Manifest {
  // Nodes built from another base or config are stale: drop them rather than mix builds.
  const keep = previous && previous.base.sha256 === next.base.sha256 && previous.configSha256 === next.configSha256
    ? previous.nodes : {};
  return { ...next, nodes: Object.fromEntries(Object.entries({ ...keep, ...next.nodes }).sort(([a], [b]) => a.localeCompare(b))) };
}
