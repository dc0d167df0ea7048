// --seed-only: the cluster file in, for each chosen node a folder holding exactly what goes onto
// its card's system-boot partition: the three NoCloud seed files and the first-boot folder.
import { join } from 'node:path';
import type { Cluster, ClusterSecrets } from './config/types.js';
import type { BootFile } from './image/fat/boot-folder.js';
import { claimOutFolder } from './output/out-folder.js';
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

export interface SeedBuildOptions {
  readonly cluster: Cluster;
  readonly secrets: ClusterSecrets;
  readonly nodes: readonly string[];
  readonly outDir: string;
  readonly folder: readonly BootFile[];
  /** The cluster file's SHA-256 (its seed folders' build.json says it) and name, for messages. */
  readonly configSha256: string;
  readonly configFile: string;
  readonly seedOptions?: SeedOptions;
  readonly log: (line: string) => void;
  readonly onNode?: (build: SeedBuild) => void;
}

export async function writeSeeds(o: SeedBuildOptions): Promise<SeedBuild[]> {
  const { cluster, nodes, outDir } = o;
  nodes.forEach((name) => nodeNamed(cluster, name)); // every name checked before anything is written
  await claimOutFolder(outDir, {
    kind: 'seeds', cluster: cluster.name, configFile: o.configFile, configSha256: o.configSha256, clusterNodes: cluster.nodes.map((n) => n.name), nodes,
  }, o.log, { apply: true });
  const builds: SeedBuild[] = [];
  for (const node of nodes) {
    const seed = renderSeed(cluster, node, o.secrets.sessionPassphrase, o.seedOptions ?? {});
    // The preseed travels inside user-data (root-only on the Pi): no second copy beside it.
    const files = [
      ...SEED_FILES.map((name) => ({ name, content: seed[name], mode: SECRET_SEED_FILES.has(name) ? 0o600 : 0o644 })),
      ...o.folder.map((f) => (f.source !== undefined ? { name: f.name, source: f.source, mode: 0o644 } : { name: f.name, content: f.content, mode: 0o644 })),
    ];
    const dir = join(outDir, node);
    await publishDirectory(dir, files);
    const build = { node, dir, files: files.map((f) => f.name) };
    o.onNode?.(build);
    builds.push(build);
  }
  return builds;
}
