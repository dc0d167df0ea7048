// --seed-only: the cluster file in, each chosen node's seed directory out.
import { join } from 'node:path';
import type { Cluster, ClusterSecrets } from './config/types.js';
import { publishDirectory } from './output/publish-dir.js';
import { nodeNamed } from './render/node-named.js';
import type { SeedOptions } from './render/node-config.js';
import { renderSeed, SECRET_SEED_FILES, type SeedFileName } from './render/seed.js';

export interface SeedBuild {
  readonly node: string;
  readonly dir: string;
  readonly files: readonly SeedFileName[];
}

export const defaultOutDir = (cluster: Cluster): string => join('images', 'out', cluster.name);

export async function writeSeeds(cluster: Cluster, secrets: ClusterSecrets, nodes: readonly string[], outDir: string,
  onNode: (build: SeedBuild) => void = () => {}, options: SeedOptions = {}): Promise<SeedBuild[]> {
  nodes.forEach((name) => nodeNamed(cluster, name)); // every name checked before anything is written
  const builds: SeedBuild[] = [];
  for (const node of nodes) {
    const seed = renderSeed(cluster, node, secrets.sessionPassphrase, options);
    const files = Object.keys(seed) as SeedFileName[];
    const dir = join(outDir, node);
    await publishDirectory(dir, files.map((name) => ({
      name, content: seed[name], mode: SECRET_SEED_FILES.has(name) ? 0o600 : 0o644,
    })));
    const build = { node, dir, files };
    onNode(build);
    builds.push(build);
  }
  return builds;
}

