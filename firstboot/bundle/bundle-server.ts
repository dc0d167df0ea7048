// A read-only HTTP server for one snap bundle: `build-image serve` on the operator's computer, and
// each node passing the files on to its peers (serve-kept-bundle.ts). The files are public, but this is one more
// thing a Pi exposes, so it keeps the status endpoint's limits (its connection caps, reused): one
// address, seconds for a request to arrive, connections capped in all and per source, and only
// the names bundle.json lists: a request's path is looked up in the listing, byte for byte and
// undecoded, and never joined to a folder. Files are streamed, whole or from a byte range (a node
// resumes), with a strong ETag (the listed SHA3-384). GET /time gives the site's clock, sealed
// with the operator's key for the asker's nonce when the server has that key (site-time.ts).
// It sends .snap files to at most maxUploads nodes at once, each keeping its place for a moment
// after a file, and answers busy (503) past that: a node then asks another source, and one that
// already has the bytes passes them on (the way fifty nodes spread a bundle without all pulling
// from one laptop: fetch-bundle.ts).
//
//   GET|HEAD /bundle/bundle.json     the listing; x-mcpi-bundle-have and -arriving: what this source can send now
//   GET|HEAD /bundle/NAME_REV.snap   a listed snap (Range: bytes=N-, N-M, -N; If-Range)
//   GET|HEAD /bundle/NAME_REV.assert its assertions
//   GET /time (x-mcpi-nonce: N)      {"now": ms since the epoch, "sealed": the operator's seal of it for N}
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sealSiteTime, TIME_PATH, type SiteTimeAnswer } from '../clock/site-time.js';
import { HEADERS, isNonce } from '../join/join-auth.js';
import type { OperatorKey } from '../join/operator-seal.js';
import { connectionCaps, HTTP_LIMITS, listenCapped, peerTest, sourceOf, type HttpLimits, type Peers } from '../run/capped-server.js';
import { bundleEntries, type BundleEntry } from './bundle-manifest.js';
import type { BundleFiles, OpenedBundleFile } from './bundle-files.js';
import { byteRange } from './byte-range.js';

export const BUNDLE_PREFIX = '/bundle/';
/** On bundle.json's answer: the listed names the source has whole, and those still arriving (passed on as they come), space-separated. */
export const HAVE_HEADER = 'x-mcpi-bundle-have';
export const ARRIVING_HEADER = 'x-mcpi-bundle-arriving';
/**
 * .snap files a source sends at once. Two: a Pi's 1 Gbit/s then gives each asker half, and every
 * node that gets bytes passes them on to two more, so fifty nodes are five hops from the operator.
 */
export const MAX_UPLOADS = 2;
/**
 * .snap files `build-image serve` sends at once: one. It is the root of every chain: one node
 * takes the bundle from it at the full speed of its link (a laptop on Wi-Fi gives 200 Mbit/s to one
 * node, not 100 to two) and the nodes pass it on among themselves; the operator's computer sends
 * about one copy, two when the chains re-form.
 */
export const OPERATOR_UPLOADS = 1;
/**
 * How long a node keeps its place after a .snap it was sent: long enough to ask for the next one.
 * A chain then holds from file to file (each node takes the next file from the one that gave it
 * the last) instead of breaking at every file, when a stranger would take the freed place.
 */
export const UPLOAD_GRACE_MS = 2000;

/** Given back when an upload ends: `whole`, every byte asked for was sent (only then is a node's place kept for its next file). */
type Release = (whole: boolean) => void;

/**
 * Who is being sent .snap files. The cluster's nodes hold places (max of them), each while its
 * files go and for a grace after a whole one. Anyone else (the bundle is public) shares one
 * place of its own, with no grace: a machine on the LAN asking from two addresses cannot keep
 * the nodes out.
 */
class UploadSlots {
  private readonly held = new Map<string, { active: number; until: number }>();
  private strangers = 0;
  constructor(readonly max: number, private readonly graceMs: number, private readonly now: () => number) {}

  /** A place for `asker`, taken at once (no await between the check and the taking), or undefined: busy. */
  take(asker: string, node: boolean): Release | undefined {
    if (!node) {
      if (this.strangers >= 1) return undefined;
      this.strangers++;
      return once(() => { this.strangers--; });
    }
    const at = this.now();
    for (const [held, slot] of this.held) if (!slot.active && slot.until <= at) this.held.delete(held);
    if (!this.held.has(asker) && this.held.size >= this.max) return undefined;
    const slot = this.held.get(asker) ?? { active: 0, until: 0 };
    slot.active++;
    this.held.set(asker, slot);
    return once((whole) => {
      slot.active--;
      slot.until = whole ? this.now() + this.graceMs : 0;
    });
  }
}

const once = (release: Release): Release => {
  let done = false;
  return (whole) => {
    if (done) return;
    done = true;
    release(whole);
  };
};

export interface BundleLimits extends HttpLimits {
  /** A connection that neither sends nor takes a byte for this long is closed (a reader that stalls mid-file). */
  readonly idleTimeoutMs: number;
}

export const BUNDLE_LIMITS: BundleLimits = { ...HTTP_LIMITS, idleTimeoutMs: 30_000 };

/** One answer's bytes on their way to a node: `started` once, `sending` per chunk, then `done` or `aborted` once. */
export interface FetchEvent {
  /** One per answer: tells two fetches of one file from one source apart. */
  readonly id: number;
  /** The asker's address (IPv4 without ::ffff:). */
  readonly source: string;
  /** The listed name (bundle.json included). */
  readonly file: string;
  readonly state: 'started' | 'sending' | 'done' | 'aborted';
  /** Body bytes handed to the connection so far. */
  readonly bytes: number;
  /** Body bytes this answer carries, from `start`; the whole file is `size`. */
  readonly length: number;
  readonly start: number;
  readonly size: number;
  /** The server's clock (options.now), ms since the epoch. */
  readonly at: number;
}

export interface BundleServerOptions {
  readonly host: string;
  readonly port: number;
  readonly files: BundleFiles;
  /** The cluster's nodes: they count against the per-source cap only, so others filling the total cannot keep them out. */
  readonly peers?: Peers;
  readonly limits?: BundleLimits;
  /** Who fetched what: for a live view. Must not throw (what it throws is dropped). */
  readonly onFetch?: (event: FetchEvent) => void;
  /** The clock served at /time and stamped on events (default Date.now). */
  readonly now?: () => number;
  /** Seals /time for the asker's nonce: `build-image serve` with the cluster's operator key. A node's own server gives none. */
  readonly timeSeal?: { readonly operatorKey: OperatorKey; readonly cluster: string };
  /** Nodes sent .snap files at once (MAX_UPLOADS unless said), and how long one keeps its place after a file (UPLOAD_GRACE_MS). */
  readonly maxUploads?: number;
  readonly uploadGraceMs?: number;
}

export interface BundleServer { readonly port: number; close(): Promise<void> }

const plain = (res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', connection: 'close', ...headers }).end(`${text}\n`);

const contentType = (entry: BundleEntry) =>
  entry.kind === 'manifest' ? 'application/json' : entry.kind === 'assert' ? 'application/x.ubuntu.assertion' : 'application/octet-stream';

export async function startBundleServer(options: BundleServerOptions): Promise<BundleServer> {
  const limits = options.limits ?? BUNDLE_LIMITS;
  const now = options.now ?? Date.now;
  const caps = connectionCaps(limits, peerTest(options.peers));
  let nextId = 0;
  const uploads = new UploadSlots(options.maxUploads ?? MAX_UPLOADS, options.uploadGraceMs ?? UPLOAD_GRACE_MS, now);
  const isNode = peerTest(options.peers);
  const report = (event: Omit<FetchEvent, 'at'>) => {
    try {
      options.onFetch?.({ ...event, at: now() });
    } catch { /* a view that fails must not stop a node's download */ }
  };

  const server: Server = createServer({
    headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs, keepAliveTimeout: 1000,
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
  }, (req, res) => {
    caps.serving(req.socket); // every request here is answered at once: no body is read
    const source = sourceOf(req.socket);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      plain(res, 405, 'read-only: GET or HEAD', { allow: 'GET, HEAD' });
      return;
    }
    const path = req.url ?? '';
    if (path === TIME_PATH) {
      const at = now();
      const nonce = req.headers[HEADERS.nonce];
      const seal = options.timeSeal;
      const body: SiteTimeAnswer = seal && typeof nonce === 'string' && isNonce(nonce)
        ? { now: at, sealed: sealSiteTime(seal.operatorKey, seal.cluster, nonce, at) } : { now: at };
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', connection: 'close' })
        .end(`${JSON.stringify(body)}\n`);
      return;
    }
    if (!path.startsWith(BUNDLE_PREFIX)) {
      plain(res, 404, `GET ${BUNDLE_PREFIX}bundle.json, ${BUNDLE_PREFIX}NAME, ${TIME_PATH}`);
      return;
    }
    const answer = { req, res, source, options, report, newId: () => ++nextId, uploads, isNode };
    void answerBundle(answer, path.slice(BUNDLE_PREFIX.length)).catch(() => {
      if (!res.headersSent) plain(res, 500, 'this source failed to read the bundle; try another');
      else res.destroy();
    });
  });
  server.setTimeout(limits.idleTimeoutMs); // no 'timeout' listener: Node closes the idle socket
  return listenCapped(server, caps, options.port, options.host);
}

interface Answer {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly source: string;
  readonly options: BundleServerOptions;
  readonly report: (event: Omit<FetchEvent, 'at'>) => void;
  readonly newId: () => number;
  /** .snap bodies being sent now, and the most at once. */
  readonly uploads: UploadSlots;
  readonly isNode: (address: string) => boolean;
}

/** `name`: the request's path after /bundle/, as sent: served only when bundle.json lists exactly that name. */
async function answerBundle(a: Answer, name: string): Promise<void> {
  const { res } = a;
  let listing;
  try {
    listing = await a.options.files.listing();
  } catch {
    plain(res, 503, 'this source has no readable bundle.json; try another');
    return;
  }
  const entry = bundleEntries(listing.manifest).get(name);
  if (!entry) {
    plain(res, 404, `${BUNDLE_PREFIX}bundle.json lists the names served here`);
    return;
  }
  if (entry.kind === 'manifest') {
    const body = Buffer.from(listing.text);
    const have = await a.options.files.have(listing.manifest);
    res.setHeader(HAVE_HEADER, have.whole.join(' '));
    res.setHeader(ARRIVING_HEADER, have.arriving.join(' '));
    send(a, entry, { size: body.length, read: (start, end) => Readable.from([body.subarray(start, end + 1)], { objectMode: false }), close: async () => {} },
      manifestTag(listing.text));
    return;
  }
  let release: Release | undefined;
  if (entry.kind === 'snap' && a.req.method === 'GET') {
    release = a.uploads.take(a.source, a.isNode(a.source));
    if (!release) {
      plain(res, 503, `busy: sending snap files to ${a.uploads.max} nodes; try another source`, { 'retry-after': '1' });
      return;
    }
  }
  try {
    const opened = await a.options.files.open(entry.file);
    if (!opened) {
      release?.(false);
      plain(res, 404, `${entry.file} is listed but not here; try another source`);
      return;
    }
    if (entry.kind === 'snap' && opened.size !== entry.snap.size) {
      release?.(false);
      await opened.close();
      plain(res, 503, `${entry.file} here is ${opened.size} bytes, not the ${entry.snap.size} bundle.json lists; try another source`);
      return;
    }
    send(a, entry, opened, entry.kind === 'snap' ? `"${entry.snap['sha3-384']}"` : undefined, release);
  } catch (error) {
    release?.(false);
    throw error;
  }
}

/** The headers, then the body (GET) or nothing (HEAD, 416); `opened` is read or closed, never both; `release` once the upload ends. */
function send(a: Answer, entry: BundleEntry, opened: OpenedBundleFile, etag: string | undefined, release?: Release): void {
  const { req, res } = a;
  const size = opened.size;
  // If-Range: the range only if the asker still has these bytes (a file without an ETag always goes whole).
  const ifRange = req.headers['if-range'];
  const range = ifRange !== undefined && ifRange !== etag ? { kind: 'whole' as const } : byteRange(req.headers.range, size);
  const common = { 'accept-ranges': 'bytes', 'cache-control': 'no-cache', connection: 'close', ...(etag ? { etag } : {}) };
  if (range.kind === 'unsatisfiable') {
    release?.(false);
    void opened.close();
    plain(res, 416, `${entry.file} is ${size} bytes`, { ...common, 'content-range': `bytes */${size}` });
    return;
  }
  const [start, end] = range.kind === 'part' ? [range.start, range.end] : [0, size - 1];
  const length = end - start + 1;
  res.writeHead(range.kind === 'part' ? 206 : 200, {
    ...common, 'content-type': contentType(entry), 'content-length': String(length),
    ...(range.kind === 'part' ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === 'HEAD') {
    release?.(false);
    void opened.close();
    res.end();
    return;
  }
  const id = a.newId();
  const event = { id, source: a.source, file: entry.file, start, length, size };
  let bytes = 0;
  let ended = false;
  const finish = (state: 'done' | 'aborted') => {
    if (ended) return;
    ended = true;
    release?.(state === 'done');
    a.report({ ...event, state, bytes });
  };
  a.report({ ...event, state: 'started', bytes });
  res.once('finish', () => finish('done'));
  res.once('close', () => finish('aborted')); // after finish: nothing; before it: the node went away, or we closed
  if (length === 0) {
    void opened.close();
    res.end();
    return;
  }
  const body = opened.read(start, end);
  body.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    a.report({ ...event, state: 'sending', bytes });
  });
  pipeline(body, res).catch(() => finish('aborted')); // pipeline destroys both: the file is closed, the node sees a short body
}

/** bundle.json's ETag: its SHA3-384, quoted, as every file's here. An asker that kept a listing checks a source holds the same one with a HEAD. */
export const manifestTag = (text: string): string => `"${createHash('sha3-384').update(text).digest('hex')}"`;
