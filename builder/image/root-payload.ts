// What the builder adds to the `writable` root filesystem. The same for every node of a cluster
// (node-specific settings travel in the FAT seed), so it is written once into a prepared base
// that every node copies. Pure: a plan of entries.
import type { Cluster } from '../config/types.js';
import { renderTemplate } from '../render/templates.js';
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

export const RUNTIME_PATH = '/usr/lib/microcloud-pi/node';
export const BUNDLE_PATH = '/usr/lib/microcloud-pi/firstboot.mjs';
export const UNIT_NAME = 'microcloud-pi-firstboot.service';
export const UNIT_PATH = `/etc/systemd/system/${UNIT_NAME}`;

/** Host files that make up the first-boot service: its bundle and the runtime that runs it. */
export interface FirstBootFiles { readonly bundle: string; readonly runtime: string }

export const renderFirstBootUnit = (cluster: Cluster): string =>
  renderTemplate('firstboot.service', { cluster: cluster.name, runtime: RUNTIME_PATH, bundle: BUNDLE_PATH });

/** Provenance, and the first-boot service installed and enabled (the symlink systemctl enable makes). */
export function planRootPayload(cluster: Cluster, build: Omit<BuildInfo, 'cluster'>, firstBoot?: FirstBootFiles): RootPayload {
  const info: BuildInfo = { ...build, cluster: cluster.name };
  const generated: GeneratedFile[] = [{ path: BUILD_INFO_PATH, content: `${JSON.stringify(info, null, 2)}\n`, mode: 0o644 }];
  if (!firstBoot) return { generated, entries: [] };
  return {
    generated: [...generated, { path: UNIT_PATH, content: renderFirstBootUnit(cluster), mode: 0o644 }],
    entries: [
      { kind: 'file', path: RUNTIME_PATH, source: firstBoot.runtime, mode: 0o755 },
      { kind: 'file', path: BUNDLE_PATH, source: firstBoot.bundle, mode: 0o644 },
      { kind: 'symlink', path: `/etc/systemd/system/multi-user.target.wants/${UNIT_NAME}`, target: UNIT_PATH },
    ],
  };
}
