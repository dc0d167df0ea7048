// The bundle: a folder with NAME_REV.snap and NAME_REV.assert for each snap, and bundle.json
// saying what they are. Written under a temporary name beside the target and renamed into place
// when complete, so a bundle folder is always whole; a new bundle replaces an older one whole.
import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BUNDLE_FILE, BUNDLE_FORMAT, type BundleManifest } from '../../firstboot/bundle/bundle-manifest.js';
import { partialPath, watchForLeftovers } from '../output/leftovers.js';
import { assertionStream } from './assertion.js';
import type { ResolvedSnap } from './resolve-snaps.js';
import { SERIES } from './store-api.js';
import { snapFileName } from './snap-assertions.js';

export const assertFileName = (snap: Pick<ResolvedSnap, 'name' | 'revision'>): string => `${snap.name}_${snap.revision}.assert`;

/** bundle.json's content. Pure. */
export function bundleManifest(o: { cluster: string; arch: string; store: string; tool: string; snaps: readonly ResolvedSnap[] }): BundleManifest {
  return {
    format: BUNDLE_FORMAT, cluster: o.cluster, arch: o.arch, series: SERIES, store: o.store, tool: o.tool,
    snaps: o.snaps.map((s) => ({
      name: s.name, 'snap-id': s.snapId, revision: s.revision, channel: s.channel, base: s.base || null, type: s.type,
      version: s.version, role: s.role, size: s.download.size, 'sha3-384': s.download.sha3_384,
      file: snapFileName(s), assert: assertFileName(s),
    })),
  };
}

/** --out cannot hold the bundle (a file, or a folder of other things): nothing was written; the CLI exits 2. */
export class BundleFolderRefused extends Error {
  override name = 'BundleFolderRefused';
}

export interface BundleFile { readonly snap: ResolvedSnap; readonly path: string; readonly assertions: readonly string[] }

/** Writes the bundle to `outDir`, replacing an earlier bundle there; refuses a folder that holds anything else. */
export async function writeBundle(outDir: string, manifest: BundleManifest, files: readonly BundleFile[]): Promise<void> {
  await refuseForeignFolder(outDir);
  await mkdir(dirname(outDir), { recursive: true });
  watchForLeftovers(dirname(outDir)); // Ctrl-C removes the temporary folder
  const temporary = partialPath(outDir);
  try {
    await mkdir(temporary);
    for (const { snap, path, assertions } of files) {
      // A copy, not a link: editing the bundle must never change the cache. Cloned where the file system can.
      await copyFile(path, join(temporary, snapFileName(snap)), constants.COPYFILE_FICLONE);
      await writeFile(join(temporary, assertFileName(snap)), assertionStream(assertions));
    }
    await writeFile(join(temporary, BUNDLE_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    const older = await stat(outDir).then(() => partialPath(outDir), () => undefined);
    if (older) await rename(outDir, older);
    await rename(temporary, outDir);
    if (older) await rm(older, { recursive: true, force: true });
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}

async function refuseForeignFolder(outDir: string): Promise<void> {
  const entries = await readdir(outDir).catch((error: NodeJS.ErrnoException): string[] => {
    if (error.code === 'ENOENT') return [];
    if (error.code === 'ENOTDIR') throw new BundleFolderRefused(`--out ${outDir} is a file. Give a folder for the bundle.`);
    throw error;
  });
  if (entries.length && !entries.includes(BUNDLE_FILE))
    throw new BundleFolderRefused(`--out ${outDir} holds files and no ${BUNDLE_FILE}: it is not a snap bundle, and a bundle replaces its folder whole. `
      + 'Give an empty or new folder, or an earlier bundle\'s.');
}
