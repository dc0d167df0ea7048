// What the builder adds to the `writable` root filesystem. The same for every node of a cluster
// (node-specific settings travel in the FAT seed), so it is written once into a prepared base
// that every node copies. Pure: a plan of entries.
import type { Cluster } from '../config/types.js';
import type { RootEntry } from './ext4-files.js';

export interface GeneratedFile { readonly path: string; readonly content: string; readonly mode: number }

export interface RootPayload {
  /** Files whose content we generate here. */
  readonly generated: readonly GeneratedFile[];
  /** Files copied from the host (bundles, runtimes), with directories and symlinks. */
  readonly entries: readonly RootEntry[];
}

export const BUILD_INFO_PATH = '/etc/microcloud-pi/build.json';

export interface BuildInfo { tool: string; version: string; cluster: string; configSha256: string; baseSha256: string }

/** Provenance on every card: which tool and which inputs built it. */
export function planRootPayload(cluster: Cluster, build: Omit<BuildInfo, 'cluster'>,
  extra: readonly RootEntry[] = []): RootPayload {
  const info: BuildInfo = { ...build, cluster: cluster.name };
  return {
    generated: [{ path: BUILD_INFO_PATH, content: `${JSON.stringify(info, null, 2)}\n`, mode: 0o644 }],
    entries: extra,
  };
}
