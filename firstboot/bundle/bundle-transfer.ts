// One GET of a bundle file from one source over the intra network, streamed: to memory for the
// small files (bundle.json, .assert), to disk for a .snap, from where an earlier attempt stopped
// (Range). Bounded in time (no answer, or no byte for idleMs, ends it) and in size.
import { request, type IncomingMessage } from 'node:http';
import type { BundleSource } from './bundle-sources.js';

export interface TransferLimits {
  /** No answer, or no byte for this long: the source is taken as gone. */
  readonly idleMs: number;
}

/** A source that said busy (503, 429) has the file: asked again after a short pause, not a failed round (fetch-bundle.ts). */
export type Refused = { readonly ok: false; readonly why: string; readonly busy?: true };

export type Transfer =
  | { readonly ok: true; readonly status: number; readonly etag?: string }
  | Refused;

/** Where the request is sent from: the node's own intra-cluster address, so a source sees (and may check) who asks. */
export interface From { readonly address?: string }

function get(source: BundleSource, path: string, headers: Record<string, string>, from: From, limits: TransferLimits,
  onResponse: (res: IncomingMessage) => Promise<Transfer>, method: 'GET' | 'HEAD' = 'GET'): Promise<Transfer> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (t: Transfer) => {
      if (!settled) { settled = true; resolve(t); }
    };
    // agent: false, a connection of its own: a kept-alive socket to a peer that restarted since fails the request for nothing.
    const req = request({ host: source.address, port: source.port, path, method, headers, agent: false,
      ...(from.address ? { localAddress: from.address } : {}) }, (res) => {
      res.on('error', () => undefined); // reported through the stream's iteration
      onResponse(res).then(done, (error: Error) => done({ ok: false, why: error.message }));
    });
    // An idle limit, not a deadline: a 100 MB snap over Wi-Fi takes minutes, but a stalled source is dropped.
    req.setTimeout(limits.idleMs, () => {
      req.destroy(new Error(`no data for ${limits.idleMs / 1000} s`));
    });
    req.on('error', (error) => done({ ok: false, why: error.message }));
    req.end();
  });
}

const busyOrMissing = (res: IncomingMessage): Refused =>
  res.statusCode === 503 || res.statusCode === 429 ? { ok: false, why: `busy (HTTP ${res.statusCode})`, busy: true } : { ok: false, why: `HTTP ${res.statusCode}` };

/** The answer's headers, lower-case names, single values. */
const headersOf = (res: IncomingMessage): Record<string, string> =>
  Object.fromEntries(Object.entries(res.headers).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v]] : [])));

/** A HEAD: the headers of a 200, or why not. */
export async function fetchHead(source: BundleSource, path: string, from: From, limits: TransferLimits):
  Promise<{ ok: true; headers: Record<string, string> } | Refused> {
  let headers: Record<string, string> = {};
  const t = await get(source, path, {}, from, limits, async (res) => {
    res.resume();
    if (res.statusCode !== 200) return busyOrMissing(res);
    headers = headersOf(res);
    return { ok: true, status: 200 };
  }, 'HEAD');
  return t.ok ? { ok: true, headers } : t;
}

/** A small file whole (at most maxBytes), with the answer's headers, or why not. */
export async function fetchSmall(source: BundleSource, path: string, maxBytes: number, from: From, limits: TransferLimits):
  Promise<{ ok: true; body: string; headers: Record<string, string> } | Refused> {
  let body = '';
  let headers: Record<string, string> = {};
  const t = await get(source, path, {}, from, limits, async (res) => {
    if (res.statusCode !== 200) { res.resume(); return busyOrMissing(res); }
    headers = headersOf(res);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) { res.destroy(); return { ok: false, why: `more than ${maxBytes} bytes` }; }
      chunks.push(chunk);
    }
    if (!res.complete) return { ok: false, why: 'the answer ended early' };
    body = Buffer.concat(chunks).toString('utf8');
    return { ok: true, status: 200 };
  });
  return t.ok ? { ok: true, body, headers } : t;
}

/**
 * Streams `path` from byte `offset` on into `sink`, at most `size` bytes in all; `etag` is the
 * file's (its SHA3-384, quoted, as sources send it). `sink.start`
 * learns whether the source resumed (206) or sends the whole file (200: start afresh).
 */
export function fetchStream(source: BundleSource, path: string, offset: number, size: number, etag: string, from: From, limits: TransferLimits, sink: {
  start(resumed: boolean, etag: string | undefined): Promise<boolean>;
  chunk(bytes: Buffer): Promise<void>;
}): Promise<Transfer> {
  // If-Range: a source that holds other bytes under this name sends the whole file instead of splicing them on.
  const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-`, 'if-range': etag } : {};
  return get(source, path, headers, from, limits, async (res) => {
    const resumed = res.statusCode === 206 && offset > 0;
    if (res.statusCode !== 200 && !resumed) { res.resume(); return busyOrMissing(res); }
    const etag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
    if (!(await sink.start(resumed, etag))) { res.destroy(); return { ok: false, why: `ETag ${etag} names another file` }; }
    let received = resumed ? offset : 0;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        received += chunk.length;
        if (received > size) { res.destroy(); return { ok: false, why: `more than the ${size} bytes bundle.json gives` }; }
        await sink.chunk(chunk);
      }
    } catch (error) {
      return { ok: false, why: `the connection closed after ${received} of ${size} bytes (${(error as Error).message})` };
    }
    if (!res.complete) return { ok: false, why: `the connection closed after ${received} of ${size} bytes` };
    return { ok: true, status: res.statusCode!, ...(etag ? { etag } : {}) };
  });
}
