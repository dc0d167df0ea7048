// A node passing its snap bundle on (item 4 of issue 28): it serves the files it fetched, checked
// and kept (bundle-disk.ts) to its peers, read-only, with the same server as `build-image serve`
// (bundle-server.ts), on its intra address and BUNDLE_PORT, for as long as the service runs, and,
// while its install step fetches, the .snap files still arriving (files-in-flight.ts), so a
// node a few hops from the operator gets bytes as they come. Only the kept folder is served:
// bundle.json and the names it lists; a whole file there was checked before it was renamed into
// place, an arriving one is checked by every node that takes it. A node that cannot listen (the
// port taken, say) logs why and boots on: its peers take the files from another source.
import { join } from 'node:path';
import type { Logger } from '../run/types.js';
import type { Peers } from '../run/capped-server.js';
import { folderBundleFiles, OPEN_FLAGS, type BundleFiles } from './bundle-files.js';
import { startBundleServer, type BundleLimits, type BundleServer } from './bundle-server.js';
import { BUNDLE_PORT } from './bundle-sources.js';
import type { FilesInFlight } from './files-in-flight.js';

export interface KeptBundleOptions {
  /** The node's intra-cluster address (never every interface). */
  readonly host: string;
  /** The folder the install step keeps the bundle in (BundleDisk.dir). */
  readonly dir: string;
  /** The cluster's nodes, asked afresh per connection (a member added later is one too). */
  readonly peers: Peers;
  readonly log: Logger;
  /** The install step's files on their way: served as they arrive. Without it only a kept bundle is served (none: no server). */
  readonly inFlight?: FilesInFlight;
  /** BUNDLE_PORT unless a test says otherwise. */
  readonly port?: number;
  readonly limits?: BundleLimits;
  readonly maxUploads?: number;
}

/** The kept folder's files, and those still arriving (a partial file is `NAME.partial`, as the fetch writes it). */
export function keptBundleFiles(dir: string, inFlight: FilesInFlight): BundleFiles {
  const kept = folderBundleFiles(dir);
  return {
    listing: () => kept.listing(),
    async open(file) {
      return await kept.open(file) ?? await inFlight.open(file, join(dir, `${file}.partial`), OPEN_FLAGS) ?? await kept.open(file);
    },
    async have(manifest) {
      const { whole } = await kept.have(manifest);
      const arriving = inFlight.names().filter((name) => !whole.includes(name) && manifest.snaps.some((s) => s.file === name));
      return { whole, arriving };
    },
  };
}

/** The server, or undefined (logged) when there is nothing to serve or no way to listen. */
export async function serveKeptBundle(options: KeptBundleOptions): Promise<BundleServer | undefined> {
  const { host, log, inFlight } = options;
  const port = options.port ?? BUNDLE_PORT;
  const files = inFlight ? keptBundleFiles(options.dir, inFlight) : folderBundleFiles(options.dir);
  if (!inFlight) {
    try {
      await files.listing();
    } catch (error) {
      log.warn(`bundle: not serving the snap bundle to peers: ${options.dir}/bundle.json is unusable (${(error as Error).message}); they take it from another source`);
      return undefined;
    }
  }
  try {
    const server = await startBundleServer({ host, port, files, peers: options.peers, ...(options.limits ? { limits: options.limits } : {}),
      ...(options.maxUploads ? { maxUploads: options.maxUploads } : {}) });
    log.info(`bundle: serving the snap bundle ${inFlight ? 'as it arrives in' : 'kept in'} ${options.dir} to peers on ${host}:${server.port}`);
    return server;
  } catch (error) {
    log.warn(`bundle: not serving the snap bundle to peers on ${host}:${port}: ${(error as Error).message}; they take it from another source`);
    return undefined;
  }
}
