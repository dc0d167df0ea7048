// Fetches a package's tarball from the npm registry in process: the metadata of `name@version`,
// then its tarball (resumable, with retries). The registry is the user's (`npm_config_registry`,
// which npm sets for scripts and npx) and the fetcher honours their proxy; the caller checks
// the tarball against the pinned integrity before using anything in it.
import { join } from 'node:path';
import { downloadResumable, fetchSmall, type Fetcher, type RetryPolicy } from './download.js';
import { DownloadError } from '../errors.js';
import type { OnProgress } from '../progress.js';

export const DEFAULT_REGISTRY = 'https://registry.npmjs.org/';

/** Fetches `name@version` as a .tgz into `dir`, returning its path. */
export type PackageFetcher = (spec: string, dir: string) => Promise<string>;

export const registryOf = (env: Readonly<Record<string, string | undefined>>): string =>
  (env.npm_config_registry || env.NPM_CONFIG_REGISTRY || DEFAULT_REGISTRY).replace(/\/*$/, '/');

/** `onProgress`: the tarball's download (about 45 MB for a Node.js runtime: seconds to minutes). */
export function registryFetcher(fetcher: Fetcher, env: Readonly<Record<string, string | undefined>>, policy?: RetryPolicy,
  onProgress?: OnProgress): PackageFetcher {
  return async (spec, dir) => {
    const at = spec.lastIndexOf('@');
    const name = spec.slice(0, at);
    const version = spec.slice(at + 1);
    const registry = registryOf(env);
    const metadataUrl = `${registry}${name.replace('/', '%2f')}/${encodeURIComponent(version)}`;
    const offline = (error: unknown) => (error instanceof DownloadError
      ? new DownloadError(error.url, `${error.reason}. Without the registry, give the runtime with --node-runtime FILE `
        + `(the bin/node of ${spec}, for the image's architecture)`, { cause: error })
      : error);
    try {
      const metadata = JSON.parse(Buffer.from(await fetchSmall(fetcher, metadataUrl, policy)).toString('utf8')) as { dist?: { tarball?: unknown } };
      const tarball = metadata.dist?.tarball;
      if (typeof tarball !== 'string') throw new DownloadError(metadataUrl, 'the registry\'s answer names no tarball');
      const path = join(dir, `${name.replace('/', '-')}-${version}.tgz`);
      await downloadResumable(fetcher, tarball, path, { label: spec, ...(policy ? { policy } : {}), ...(onProgress ? { onProgress } : {}) });
      return path;
    } catch (error) {
      if (error instanceof SyntaxError) throw new DownloadError(metadataUrl, 'the registry\'s answer is not JSON', { cause: error });
      throw offline(error);
    }
  };
}
