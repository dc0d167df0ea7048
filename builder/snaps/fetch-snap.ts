// One snap file, in the cache by its SHA3-384 (like the base image by its SHA-256):
// CACHE/snaps/<sha3-384>/NAME_REV.snap. A file there was checked before it got there, so a
// warm cache sends no request for it. Otherwise it streams to CACHE/snaps/<sha3-384>.partial
// (an interrupted run continues it with a Range request), hashed as it arrives, checked against
// the store's answer and then against the snap-revision assertion filed under its digest; a
// file that fails either is deleted, never kept under a name a later run would trust.
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadResumable, type Fetcher, type RetryPolicy } from '../image/base/download.js';
import { VerificationError } from '../image/errors.js';
import type { OnProgress } from '../image/progress.js';
import type { StoreSnap } from './store-api.js';
import type { SnapStore } from './store-client.js';
import { snapFileName, snapRevisionFor } from './snap-assertions.js';

export interface FetchedSnap {
  readonly path: string;
  readonly fromCache: boolean;
  /** The snap-revision assertion that vouches for the file. */
  readonly snapRevision: string;
}

export const snapCacheDir = (cacheDir: string): string => join(cacheDir, 'snaps');
/** Where the checked file of `snap` lives in the cache. */
export const cachedSnapPath = (cacheDir: string, snap: StoreSnap): string =>
  join(snapCacheDir(cacheDir), snap.download.sha3_384, snapFileName(snap));
export const isCached = (cacheDir: string, snap: StoreSnap): Promise<boolean> =>
  stat(cachedSnapPath(cacheDir, snap)).then((s) => s.isFile(), () => false);

export async function fetchSnap(snap: StoreSnap, options: {
  store: SnapStore; fetcher: Fetcher; cacheDir: string; onProgress?: OnProgress; policy?: RetryPolicy;
}): Promise<FetchedSnap> {
  const digest = snap.download.sha3_384;
  const file = snapFileName(snap);
  const dir = snapCacheDir(options.cacheDir);
  const verified = cachedSnapPath(options.cacheDir, snap);
  if (await isCached(options.cacheDir, snap)) {
    const snapRevision = await snapRevisionFor(options.store, snap, digest).catch(async (error: unknown) => {
      if (error instanceof VerificationError) await rm(join(dir, digest), { recursive: true, force: true });
      throw error;
    });
    return { path: verified, fromCache: true, snapRevision };
  }
  await mkdir(dir, { recursive: true });
  const partial = join(dir, `${digest}.partial`);
  const actual = await downloadResumable(options.fetcher, snap.download.url, partial, {
    label: file, digest: 'sha3-384', ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.policy ? { policy: options.policy } : {}),
  });
  if (actual !== digest) {
    await rm(partial, { force: true });
    throw new VerificationError(file, `SHA3-384 ${actual} does not match ${digest}, the store's answer for ${snap.name} revision `
      + `${snap.revision} (from ${snap.download.url}); the download was removed. Run the command again to download it afresh`);
  }
  const snapRevision = await snapRevisionFor(options.store, snap, actual).catch(async (error: unknown) => {
    if (error instanceof VerificationError) await rm(partial, { force: true });
    throw error;
  });
  await mkdir(join(dir, digest), { recursive: true });
  await rename(partial, verified);
  return { path: verified, fromCache: false, snapRevision };
}
