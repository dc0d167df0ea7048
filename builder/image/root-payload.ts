// What the builder adds to the `writable` root filesystem of one node's image. Pure: a plan of
// entries; the bytes of generated files are given alongside for the writer to stage.
import type { Cluster } from '../config/types.js';
import { nodeNamed } from '../render/node-named.js';
import type { RootEntry } from './ext4-files.js';

export interface GeneratedFile { readonly path: string; readonly content: string; readonly mode: number }

export interface RootPayload {
  /** Files whose content we generate here. */
  readonly generated: readonly GeneratedFile[];
  /** Files copied from the host (bundles, runtimes), with directories and symlinks. */
  readonly entries: readonly RootEntry[];
}

export const BUILD_INFO_PATH = '/etc/microcloud-pi/build.json';

export interface BuildInfo { tool: string; version: string; cluster: string; node: string; configSha256: string; baseSha256: string }

/** Provenance on the node itself: which tool and which inputs built this card. */
export function planRootPayload(cluster: Cluster, nodeName: string, build: Omit<BuildInfo, 'cluster' | 'node'>,
  extra: readonly RootEntry[] = []): RootPayload {
  const node = nodeNamed(cluster, nodeName);
  const info: BuildInfo = { ...build, cluster: cluster.name, node: node.name };
  return {
    generated: [{ path: BUILD_INFO_PATH, content: `${JSON.stringify(info, null, 2)}\n`, mode: 0o644 }],
    entries: extra,
  };
}
