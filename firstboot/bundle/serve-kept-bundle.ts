// A node passing its snap bundle on (item 4 of issue 28): once its install step is done, it serves
// the files it fetched, checked and kept (bundle-disk.ts) to its peers, read-only, with the same
// server as `build-image serve` (bundle-server.ts), on its intra address and BUNDLE_PORT, for as
// long as the service runs. Only the kept folder is served: bundle.json and the names it lists,
// every one of which the install step checked before snapd saw it. A node that cannot listen
// (the port taken, say) logs why and boots on: its peers take the files from another source.
import type { Logger } from '../run/types.js';
import type { Peers } from '../run/capped-server.js';
import { folderBundleFiles } from './bundle-files.js';
import { startBundleServer, type BundleLimits, type BundleServer } from './bundle-server.js';
import { BUNDLE_PORT } from './bundle-sources.js';

export interface KeptBundleOptions {
  /** The node's intra-cluster address (never every interface). */
  readonly host: string;
  /** The folder the install step kept the bundle in (BundleDisk.dir). */
  readonly dir: string;
  /** The cluster's nodes, asked afresh per connection (a member added later is one too). */
  readonly peers: Peers;
  readonly log: Logger;
  /** BUNDLE_PORT unless a test says otherwise. */
  readonly port?: number;
  readonly limits?: BundleLimits;
}

/** The server, or undefined (logged) when there is nothing to serve or no way to listen. */
export async function serveKeptBundle(options: KeptBundleOptions): Promise<BundleServer | undefined> {
  const { host, log } = options;
  const port = options.port ?? BUNDLE_PORT;
  const files = folderBundleFiles(options.dir);
  try {
    await files.listing();
  } catch (error) {
    log.warn(`bundle: not serving the snap bundle to peers: ${options.dir}/bundle.json is unusable (${(error as Error).message}); they take it from another source`);
    return undefined;
  }
  try {
    const server = await startBundleServer({ host, port, files, peers: options.peers, ...(options.limits ? { limits: options.limits } : {}) });
    log.info(`bundle: serving the snap bundle kept in ${options.dir} to peers on ${host}:${server.port}`);
    return server;
  } catch (error) {
    log.warn(`bundle: not serving the snap bundle to peers on ${host}:${port}: ${(error as Error).message}; they take it from another source`);
    return undefined;
  }
}
