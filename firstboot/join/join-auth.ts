// Trust for adding a node to a formed cluster. Every node's image carries the cluster's join
// passphrase; a formed member keeps only a key derived from it (root-only), and the passphrase
// never crosses the network: a request to open an add session is signed with the key (HMAC over
// a timestamp, a nonce and the body), and the add session's passphrase is derived from the key
// and that nonce on both sides. Pure functions of their inputs; the clock is passed in.
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export const JOIN_KEY_BYTES = 32;
/** How far a request's timestamp may be from the member's clock (both are NTP-synchronised by then). */
export const MAX_SKEW_MS = 5 * 60_000;
export const MAX_BODY_BYTES = 16 * 1024;
export const MAX_REQUESTS_PER_MINUTE = 6;

export const HEADERS = { timestamp: 'x-mcpi-timestamp', nonce: 'x-mcpi-nonce', signature: 'x-mcpi-signature' } as const;

/** The key both sides derive from the passphrase; bound to the cluster's name. */
export function deriveJoinKey(passphrase: string, cluster: string): Buffer {
  return Buffer.from(hkdfSync('sha256', passphrase, `microcloud-pi/${cluster}`, 'join-key v1', JOIN_KEY_BYTES));
}

const mac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
const signed = (timestamp: string, nonce: string, body: string) =>
  `v1\n${timestamp}\n${nonce}\n${createHash('sha256').update(body).digest('hex')}`;

export interface SignedHeaders { readonly timestamp: string; readonly nonce: string; readonly signature: string }

export function signRequest(key: Buffer, body: string, nowMs: number, nonce: string): SignedHeaders {
  const timestamp = String(nowMs);
  return { timestamp, nonce, signature: mac(key, signed(timestamp, nonce, body)).toString('hex') };
}

/** The add session's passphrase: the same on the member and the new node, never sent. */
export const sessionPassphrase = (key: Buffer, nonce: string): string =>
  mac(key, `session v1\n${nonce}`).toString('base64url').slice(0, 32);

/** Nonces seen within the skew window, and requests per source in the last minute. */
export class ReplayGuard {
  private readonly nonces = new Map<string, number>();
  private readonly recent = new Map<string, number[]>();

  /** Records the nonce; false when it was already used. */
  fresh(nonce: string, nowMs: number): boolean {
    for (const [n, expires] of this.nonces) if (expires < nowMs) this.nonces.delete(n);
    if (this.nonces.has(nonce)) return false;
    this.nonces.set(nonce, nowMs + 2 * MAX_SKEW_MS);
    return true;
  }

  /** Counts the request; false when `source` already made the allowed number this minute. */
  allowed(source: string, nowMs: number): boolean {
    const times = (this.recent.get(source) ?? []).filter((t) => t > nowMs - 60_000);
    const ok = times.length < MAX_REQUESTS_PER_MINUTE;
    if (ok) times.push(nowMs);
    this.recent.set(source, times);
    return ok;
  }
}

export interface JoinRequestIn {
  readonly source: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
}

export type Verdict = { ok: true } | { ok: false; status: number; reason: string };
const refuse = (status: number, reason: string): Verdict => ({ ok: false, status, reason });

/**
 * Is this a request from a holder of the key, fresh, not replayed, from the cluster network, and
 * within limits? Checks run cheapest first; the nonce is recorded only for a valid signature, so
 * a forger cannot burn a real node's nonces.
 */
export function verifyRequest(key: Buffer, request: JoinRequestIn, nowMs: number, guard: ReplayGuard,
  inClusterNetwork: (address: string) => boolean): Verdict {
  if (!inClusterNetwork(request.source)) return refuse(403, `${request.source} is outside the cluster network`);
  if (!guard.allowed(request.source, nowMs)) return refuse(429, `more than ${MAX_REQUESTS_PER_MINUTE} requests a minute from ${request.source}`);
  if (Buffer.byteLength(request.body) > MAX_BODY_BYTES) return refuse(413, `the body is over ${MAX_BODY_BYTES} bytes`);
  const timestamp = request.headers[HEADERS.timestamp];
  const nonce = request.headers[HEADERS.nonce];
  const signature = request.headers[HEADERS.signature];
  if (!timestamp || !nonce || !signature) return refuse(401, 'the request is not signed');
  if (!/^\d{1,16}$/.test(timestamp) || Math.abs(Number(timestamp) - nowMs) > MAX_SKEW_MS)
    return refuse(401, `the timestamp is more than ${MAX_SKEW_MS / 60_000} minutes from this member's clock`);
  if (!/^[0-9a-f]{32,64}$/.test(nonce)) return refuse(401, 'the nonce is not 16-32 bytes of hex');
  const expected = mac(key, signed(timestamp, nonce, request.body));
  const given = Buffer.from(/^[0-9a-f]{64}$/.test(signature) ? signature : '', 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return refuse(401, 'the signature does not match (an image of another cluster, or another join passphrase)');
  if (!guard.fresh(nonce, nowMs)) return refuse(409, 'the nonce was used before (a replayed request)');
  return { ok: true };
}
