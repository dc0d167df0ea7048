// The Snap Store over HTTP: the thin adapter around store-api.ts. Requests go through the same
// Fetcher (and so the same proxies) and the same retries as the base image download; answers
// are small JSON or assertion text, read whole. Snap files are not fetched here (fetch-snap.ts).
import { DownloadError } from '../image/errors.js';
import { DEFAULT_RETRY, withRetries, type Fetcher, type RetryPolicy } from '../image/base/download.js';
import {
  ASSERTION_MEDIA_TYPE, assertionPath, parseRefreshAnswer, refreshBody, refreshHeaders, storeErrorText,
  type AssertionType, type RefreshAnswer, type Wanted,
} from './store-api.js';

export const DEFAULT_SNAP_STORE = 'https://api.snapcraft.io';

export interface SnapStore {
  /** The store's address, as the bundle records it. */
  readonly address: string;
  refresh(wanted: readonly Wanted[]): Promise<RefreshAnswer>;
  /** One assertion's text, or undefined when the store has none under that key. */
  assertion(type: AssertionType, primaryKey: readonly string[]): Promise<string | undefined>;
}

interface Reply { readonly status: number; readonly body: string }

export function snapStore(options: {
  address: string; arch: string; fetcher: Fetcher; userAgent: string; policy?: RetryPolicy;
}): SnapStore {
  const address = options.address.replace(/\/+$/, '');
  const policy = options.policy ?? DEFAULT_RETRY;
  // Server errors and throttling may pass; a client error is the store's answer.
  const call = (url: string, init: Parameters<Fetcher>[1]): Promise<Reply> => withRetries(url, policy, async () => {
    const response = await options.fetcher(url, init);
    const body = Buffer.from(await response.arrayBuffer()).toString('utf8');
    if (response.status >= 500 || response.status === 408 || response.status === 429)
      throw new Error(`HTTP ${response.status} (${storeErrorText(body)})`);
    return { status: response.status, body };
  });
  // Many snaps rest on the same account and key: each assertion is asked for once a run.
  const assertions = new Map<string, Promise<string | undefined>>();

  return {
    address,
    async refresh(wanted) {
      const url = `${address}/v2/snaps/refresh`;
      const reply = await call(url, { method: 'POST', headers: refreshHeaders(options.arch, options.userAgent), body: refreshBody(wanted) });
      if (reply.status !== 200) throw new DownloadError(url, `the store answered HTTP ${reply.status} (${storeErrorText(reply.body)})`);
      try {
        return parseRefreshAnswer(wanted, JSON.parse(reply.body));
      } catch (error) {
        throw new DownloadError(url, error instanceof SyntaxError ? 'the store\'s answer is not JSON' : (error as Error).message, { cause: error });
      }
    },
    assertion(type, primaryKey) {
      const url = `${address}${assertionPath(type, primaryKey)}`;
      let pending = assertions.get(url);
      if (!pending) {
        pending = call(url, { headers: { Accept: ASSERTION_MEDIA_TYPE, 'User-Agent': options.userAgent } }).then((reply) => {
          if (reply.status === 200) return reply.body;
          if (reply.status === 404) return undefined;
          throw new DownloadError(url, `the store answered HTTP ${reply.status} (${storeErrorText(reply.body)})`);
        });
        assertions.set(url, pending);
      }
      return pending;
    },
  };
}
