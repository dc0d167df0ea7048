// What a node carries on its FAT `system-boot` partition besides the seed: one folder with the
// first-boot service, the runtime that runs it (gzip: every Ubuntu and Debian can unpack it, and
// Node writes it in process), its systemd unit, provenance, a SHA256SUMS of them, and the script
// user-data runs to install them. The root filesystem is never touched, so a stock card with this
// folder and the seed copied onto it is the same node as a built image. The same for every node
// of a cluster: written once. Pure: a plan of files.
import type { Cluster } from '../../config/types.js';
import { BOOT_FOLDER, INSTALL_SCRIPT } from '../../render/install-command.js';
import { renderTemplate } from '../../render/templates.js';
import { sha256Hex } from '../hash-file.js';

export const RUNTIME_PATH = '/usr/lib/microcloud-pi/node';
export const BUNDLE_PATH = '/usr/lib/microcloud-pi/firstboot.mjs';
export const BUILD_INFO_PATH = '/etc/microcloud-pi/build.json';
export const UNIT_NAME = 'microcloud-pi-firstboot.service';
export const UNIT_PATH = `/etc/systemd/system/${UNIT_NAME}`;

const ARCHIVE = 'node.gz';
const BUNDLE = 'firstboot.mjs';
const BUILD_INFO = 'build.json';

export interface BuildInfo { tool: string; version: string; cluster: string; configSha256: string }

/** A host file to copy, with its SHA-256 (hashed by the caller: this module reads no files). */
export interface HashedFile { readonly path: string; readonly sha256: string }

/** The first-boot service's host files: the bundle and the gzip of the runtime for the node's architecture. */
export interface FirstBootFiles { readonly bundle: HashedFile; readonly runtimeArchive: HashedFile }

/** One file of the folder: `name` relative to the FAT root; content given, or copied from `source`. */
export type BootFile = { readonly name: string; readonly sha256: string }
  & ({ readonly content: string; readonly source?: undefined } | { readonly source: string; readonly content?: undefined });

export const renderFirstBootUnit = (cluster: Cluster): string =>
  renderTemplate('firstboot.service', { cluster: cluster.name, runtime: RUNTIME_PATH, bundle: BUNDLE_PATH });

export const renderInstallScript = (): string => renderTemplate('install-firstboot.sh', {
  archive: ARCHIVE, runtime: RUNTIME_PATH, bundleFile: BUNDLE, bundle: BUNDLE_PATH, buildInfoFile: BUILD_INFO,
  buildInfo: BUILD_INFO_PATH, unit: UNIT_NAME, unitPath: UNIT_PATH,
});

export function planBootFolder(cluster: Cluster, build: Omit<BuildInfo, 'cluster'>, files: FirstBootFiles): BootFile[] {
  const text = (name: string, content: string): BootFile => ({ name, content, sha256: sha256Hex(content) });
  const checked: BootFile[] = [
    { name: ARCHIVE, source: files.runtimeArchive.path, sha256: files.runtimeArchive.sha256 },
    { name: BUNDLE, source: files.bundle.path, sha256: files.bundle.sha256 },
    text(UNIT_NAME, renderFirstBootUnit(cluster)),
    text(BUILD_INFO, `${JSON.stringify({ ...build, cluster: cluster.name }, null, 2)}\n`),
    text(INSTALL_SCRIPT, renderInstallScript()),
  ];
  const sums = checked.map((f) => `${f.sha256}  ${f.name}\n`).join('');
  return [...checked, text('SHA256SUMS', sums)].map((f) => ({ ...f, name: `${BOOT_FOLDER}/${f.name}` }));
}
