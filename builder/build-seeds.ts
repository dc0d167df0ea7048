// --seed-only: the cluster file in, for each chosen node a folder holding exactly what goes onto
// its card's system-boot partition: the three NoCloud seed files and the first-boot folder.
import { join } from 'node:path';
import type { Cluster, ClusterSecrets } from './config/types.js';
import type { BootFile } from './image/boot-folder.js';
import { publishDirectory } from './output/publish-dir.js';
import { nodeNamed } from './render/node-named.js';
import type { SeedOptions } from './render/node-config.js';
import { renderSeed, SECRET_SEED_FILES, SEED_FILES } from './render/seed.js';

export interface SeedBuild {
  readonly node: string;
  readonly dir: string;
  /** Every file written, relative to `dir`. */
  readonly files: readonly string[];
}

export const defaultOutDir = (cluster: Cluster): string => join('images', 'out', cluster.name);

export async function writeSeeds(cluster: Cluster, secrets: ClusterSecrets, nodes: readonly string[], outDir: string,
  folder: readonly BootFile[], onNode: (build: SeedBuild) => void = () => {}, options: SeedOptions = {}): Promise<SeedBuild[]> {
  nodes.forEach((name) => nodeNamed(cluster, name)); // every name checked before anything is written
  const builds: SeedBuild[] = [];
  for (const node of nodes) {
    const seed = renderSeed(cluster, node, secrets.sessionPassphrase, options);
    // The preseed travels inside user-data (root-only on the Pi): no second copy beside it.
    const files = [
      ...SEED_FILES.map((name) => ({ name, content: seed[name], mode: SECRET_SEED_FILES.has(name) ? 0o600 : 0o644 })),
      ...folder.map((f) => (f.source !== undefined ? { name: f.name, source: f.source, mode: 0o644 } : { name: f.name, content: f.content, mode: 0o644 })),
    ];
    const dir = join(outDir, node);
    await publishDirectory(dir, files);
    const build = { node, dir, files: files.map((f) => f.name) };
    onNode(build);
    builds.push(build);
  }
  return builds;
}
