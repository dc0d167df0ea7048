// The boot partition's microcloud-pi folder for a build: hashes the host files and makes the
// runtime's archive (cached), then plans the folder. Shared by image builds and --seed-only.
import type { Cluster } from './config/types.js';
import { planBootFolder, type BootFile } from './image/fat/boot-folder.js';
import { sha256File } from './image/hash-file.js';
import { runtimeArchive } from './image/fat/runtime-archive.js';
import { TOOL } from './tool-version.js';

/** The first-boot service's host files: the bundle, and the `node` binary for the node's architecture. */
export interface FirstBootSources { readonly bundle: string; readonly runtime: string }

/** The same folder for an image and for --seed-only (no base named in it: manifest.json says which base an image used). */
export async function firstBootFolder(o: {
  cluster: Cluster; configSha256: string; sources: FirstBootSources; cacheDir: string;
}): Promise<BootFile[]> {
  return planBootFolder(o.cluster, { tool: TOOL.name, version: TOOL.version, configSha256: o.configSha256 },
    { bundle: { path: o.sources.bundle, sha256: await sha256File(o.sources.bundle) }, runtimeArchive: await runtimeArchive(o.sources.runtime, o.cacheDir) });
}
