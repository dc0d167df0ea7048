// HTTP downloads through an injected Fetcher (node-fetch in production, through the user's proxy): small files into memory,
// large ones to a `.partial` file that a later run resumes with a Range request.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, truncate } from 'node:fs/promises';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import fetch from 'node-fetch';
import { DownloadError } from '../errors.js';
import type { OnProgress } from '../progress.js';

export interface FetchResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: NodeJS.ReadableStream | null;
  arrayBuffer(): Promise<ArrayBuffer>;
}
/** `method` and `body` for API calls (the Snap Store's POST); downloads only GET. */
export type Fetcher = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<FetchResponse>;

export const nodeFetcher: Fetcher = (url, init) => fetch(url, init) as unknown as Promise<FetchResponse>;

type Env = Readonly<Record<string, string | undefined>>;

/** The proxy for `url` as npm and curl read it from the environment, or undefined (NO_PROXY honoured). */
export function proxyFor(url: string, env: Env): string | undefined {
  const { protocol, hostname } = new URL(url);
  const noProxy = (env.npm_config_noproxy ?? env.NO_PROXY ?? env.no_proxy ?? '').split(/[\s,]+/).filter(Boolean);
  if (noProxy.some((entry) => entry === '*' || hostname === entry.replace(/^\./, '') || hostname.endsWith(`.${entry.replace(/^\./, '')}`)))
    return undefined;
  const pick = (...names: string[]) => names.map((n) => env[n]).find((v) => v);
  return protocol === 'https:'
    ? pick('npm_config_https_proxy', 'HTTPS_PROXY', 'https_proxy', 'npm_config_proxy', 'HTTP_PROXY', 'http_proxy')
    : pick('npm_config_proxy', 'HTTP_PROXY', 'http_proxy');
}

/** node-fetch through the proxy the environment names, if any. */
export function fetcherFor(env: Env): Fetcher {
  return (url, init) => {
    const proxy = proxyFor(url, env);
    const agent = proxy === undefined ? undefined
      : url.startsWith('https:') ? new HttpsProxyAgent(proxy) : new HttpProxyAgent(proxy);
    return fetch(url, { ...init, ...(agent ? { agent } : {}) }) as unknown as Promise<FetchResponse>;
  };
}

export interface RetryPolicy {
  readonly attempts: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
}
export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 4,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => Date.now(),
};

/** Client errors will not get better by retrying; everything else may. */
class PermanentHttpError extends Error {}

/** Runs `attempt` until it succeeds, backing off between tries; a DownloadError naming `url` after the last. */
export async function withRetries<T>(url: string, policy: RetryPolicy, attempt: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 1; i <= policy.attempts; i++) {
    try {
      return await attempt();
    } catch (error) {
      last = error;
      if (error instanceof PermanentHttpError || i === policy.attempts) break;
      await policy.sleep(1000 * 2 ** (i - 1));
    }
  }
  throw new DownloadError(url, last instanceof Error ? last.message : String(last), { cause: last });
}

function checkStatus(url: string, status: number): void {
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) throw new PermanentHttpError(`HTTP ${status}`);
  if (status >= 300) throw new Error(`HTTP ${status} from ${url}`);
}

export async function fetchSmall(fetcher: Fetcher, url: string, policy: RetryPolicy = DEFAULT_RETRY): Promise<Uint8Array> {
  return withRetries(url, policy, async () => {
    const response = await fetcher(url);
    checkStatus(url, response.status);
    return new Uint8Array(await response.arrayBuffer());
  });
}

const sizeOf = (path: string) => stat(path).then((s) => s.size, () => 0);

/** A digest seeded with the first `bytes` of `path`: what an earlier attempt already wrote. */
async function seededHash(algorithm: string, path: string, bytes: number): Promise<Hash> {
  const hash = createHash(algorithm);
  if (bytes > 0) for await (const chunk of createReadStream(path, { start: 0, end: bytes - 1 })) hash.update(chunk as Buffer);
  return hash;
}

/**
 * Downloads `url` into `partial`, continuing from what an earlier run left there. With `digest`
 * (a node:crypto algorithm), returns the hex digest of the whole file, computed while the bytes
 * stream in (a resumed download hashes the part already on disk first, as snapd does in
 * store/store_download.go downloadImpl), so a large file is not read back to check it.
 */
export async function downloadResumable(fetcher: Fetcher, url: string, partial: string, options: {
  label: string; onProgress?: OnProgress; policy?: RetryPolicy; digest?: string;
}): Promise<string | undefined> {
  const policy = options.policy ?? DEFAULT_RETRY;
  return withRetries(url, policy, async () => {
    const have = await sizeOf(partial);
    const response = await fetcher(url, have ? { headers: { Range: `bytes=${have}-` } } : {});
    if (response.status === 416 && have > 0) // nothing left to send: the checksum decides
      return options.digest ? (await seededHash(options.digest, partial, have)).digest('hex') : undefined;
    checkStatus(url, response.status);
    const resumed = response.status === 206;
    if (!resumed && have) await truncate(partial, 0); // the server ignored Range: start over
    const hash = options.digest ? await seededHash(options.digest, partial, resumed ? have : 0) : undefined;
    const length = Number(response.headers.get('content-length') ?? NaN);
    const start = resumed ? have : 0;
    const total = Number.isFinite(length) ? start + length : undefined;
    let bytes = start;
    const began = policy.now();
    let lastReport = 0;
    const report = (done: boolean) => options.onProgress?.({
      step: 'download', label: options.label, bytes, ...(total !== undefined ? { total } : {}), done,
      bytesPerSecond: (bytes - start) / Math.max(0.001, (policy.now() - began) / 1000),
    });
    if (!response.body) throw new Error('empty response body');
    // Each chunk is on disk before the next is read, so a cut connection keeps every byte received.
    const file = await open(partial, resumed ? 'a' : 'w');
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        await file.write(chunk);
        hash?.update(chunk);
        bytes += chunk.length;
        if (policy.now() - lastReport >= 250) {
          lastReport = policy.now();
          report(false);
        }
      }
    } finally {
      await file.close();
    }
    if (total !== undefined && bytes < total) throw new Error(`connection closed after ${bytes} of ${total} bytes`);
    report(true);
    return hash?.digest('hex');
  });
}
