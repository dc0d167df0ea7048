// Trust for adding a node to a formed cluster. Every node's image carries the cluster's join
// passphrase; a formed member keeps only a key derived from it (root-only), and the passphrase
// never crosses the network. A join request is signed with the key over everything that gives it
// meaning (method, path, the member it is for, the address it comes from, a timestamp, a nonce
// and the body), so a captured request is good for one member, one sender and one use. Answers
// and statuses that a node acts on are signed too, bound to the asker's nonce. The add session's
// passphrase is derived from the key and the request's nonce on both sides. Pure functions of
// their inputs (the clock is passed in); only the key derivation takes time (scrypt, on purpose).
import { createHash, createHmac, scrypt, timingSafeEqual, verify } from 'node:crypto';
import { publicKeyOf } from './operator-seal.js';
import type { AnswerSignatures, AnswerTrust, Trust } from '../run/types.js';
import { IDENTITY_HEADERS, signAsNode, signedByNode, type NodeSigner } from './node-identity.js';

export const JOIN_KEY_BYTES = 32;
/**
 * scrypt's cost: 32 MiB and about 0.13 s on an x86 laptop core, under a second on a Pi 4, so one
 * sniffed request no longer lets an attacker guess an operator's passphrase at HMAC speed.
 */
export const JOIN_KEY_KDF = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 2 ** 20 } as const;
/** How far a request's timestamp may be from the member's clock (both are NTP-synchronised by then). */
export const MAX_SKEW_MS = 5 * 60_000;
export const MAX_BODY_BYTES = 16 * 1024;
const MAX_TRACKED_SOURCES = 1024;
/** A joiner asks once, then every 10 s whether its batch's session is open: 6 a minute and a few to spare. */
export const MAX_REQUESTS_PER_MINUTE = 12;

export const HEADERS = { timestamp: 'x-mcpi-timestamp', nonce: 'x-mcpi-nonce', signature: 'x-mcpi-signature', ticketMac: 'x-mcpi-ticket-mac',
  cardSignature: 'x-mcpi-card-signature' } as const;
const NONCE = /^[0-9a-f]{32,64}$/;

/** The key both sides derive from the passphrase; bound to the cluster's name. */
export function deriveJoinKey(passphrase: string, cluster: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(passphrase, `microcloud-pi/${cluster}/join-key v2`, JOIN_KEY_BYTES, JOIN_KEY_KDF, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

const mac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
const sha256 = (body: string) => createHash('sha256').update(body).digest('hex');
const sameMac = (expected: Buffer, given: string | undefined) => {
  const bytes = Buffer.from(given && /^[0-9a-f]{64}$/.test(given) ? given : '', 'hex');
  return bytes.length === expected.length && timingSafeEqual(bytes, expected);
};

/** What a request is for, besides its body: it is signed, so it cannot be sent anywhere else. */
export interface RequestScope {
  readonly method: string;
  readonly path: string;
  /** The member's intra-cluster address the request is sent to. */
  readonly member: string;
  /** The sender's own address, which the member sees as the request's source. */
  readonly sender: string;
}

const requestText = (scope: RequestScope, timestamp: string, nonce: string, body: string) =>
  ['join-request v2', scope.method, scope.path, scope.member, scope.sender, timestamp, nonce, sha256(body)].join('\n');

export interface SignedHeaders { readonly timestamp: string; readonly nonce: string; readonly signature: string }

export function signRequest(key: Buffer, scope: RequestScope, body: string, nowMs: number, nonce: string): SignedHeaders {
  const timestamp = String(nowMs);
  return { timestamp, nonce, signature: mac(key, requestText(scope, timestamp, nonce, body)).toString('hex') };
}

/**
 * The card's own signature over a join request (the same text the join key signs): with the
 * identity it sends, only the card built for the node can ask as that node. The join key alone
 * is every card's, so without this any card holder could send a node's ticket again from its
 * address and replace what the node asked for (its certificate, say) in its batch.
 */
export const cardSignRequest = (signer: NodeSigner, scope: RequestScope, body: string, timestamp: string, nonce: string): string =>
  signAsNode(signer, requestText(scope, timestamp, nonce, body));

/** Whether `signature` is the card's (its Ed25519 key, raw base64, from its checked identity) over this request. */
export function cardSignatureHolds(cardKey: string, scope: RequestScope, body: string, timestamp: string, nonce: string, signature: string | undefined): boolean {
  const key = publicKeyOf(cardKey);
  const bytes = signature && /^[A-Za-z0-9_-]{86}$/.test(signature) ? Buffer.from(signature, 'base64url') : Buffer.alloc(0);
  return !!key && bytes.length === 64 && verify(null, Buffer.from(requestText(scope, timestamp, nonce, body)), key, bytes);
}

/**
 * What a node answers (a join answer, a status), signed for the asker's nonce and for the
 * address that answers: `kind` keeps one from passing as the other, `responder` keeps one node's
 * answer from passing as another's.
 */
export interface AnswerScope {
  readonly kind: 'join' | 'status' | 'revoke';
  readonly responder: string;
  readonly nonce: string;
  readonly status: number;
  /**
   * The request answered (requestDigest), for a join, batch or revoke: someone on the path who saw
   * the nonce cannot send a body of their own under it and pass the answer to that off as the
   * answer to the real request (a final refusal, or a revocation taken).
   */
  readonly request?: string;
}

const answerText = (scope: AnswerScope, body: string) =>
  [`${scope.kind}-answer v2`, scope.responder, scope.nonce, String(scope.status), sha256(body),
    ...(scope.request ? [`request ${scope.request}`] : [])].join('\n');

/** What an answer is bound to of its request: its path and body. */
export const requestDigest = (path: string, body: string): string => sha256(`${path}\n${body}`);

/**
 * The join key's word that the card's ticket header belongs to this request (its nonce): the
 * request's own signature does not cover that header (members built before tickets sign without
 * it), so without this anyone on the path could swap the ticket for a bad one and earn the node a
 * signed final refusal.
 */
export const ticketMac = (key: Buffer, nonce: string, ticket: string): string => mac(key, `ticket v1\n${nonce}\n${ticket}`).toString('hex');
export const ticketMacHolds = (key: Buffer, nonce: string, ticket: string, given: string | undefined): boolean =>
  sameMac(mac(key, `ticket v1\n${nonce}\n${ticket}`), given);

export const signAnswer = (key: Buffer, scope: AnswerScope, body: string): string => mac(key, answerText(scope, body)).toString('hex');

export const answerIsAuthentic = (key: Buffer, scope: AnswerScope, body: string, signature: string | undefined): boolean =>
  sameMac(mac(key, answerText(scope, body)), signature);

/** What signs a node's answers: the join key, and, on a card built with an operator key, the card's own key. */
export interface AnswerSigner { readonly joinKey: Buffer; readonly node?: NodeSigner }

// Whose answers a reader acts on (AnswerTrust, Trust) and the signatures an answer came with: in run/types.ts, beside the readers that take them.
export type { AnswerSignatures, AnswerTrust, Trust } from '../run/types.js';

/** The headers that sign an answer. */
export function answerHeaders(signer: Buffer | AnswerSigner, scope: AnswerScope, body: string): Record<string, string> {
  const s = Buffer.isBuffer(signer) ? { joinKey: signer } : signer;
  const text = answerText(scope, body);
  return {
    [HEADERS.signature]: mac(s.joinKey, text).toString('hex'),
    ...(s.node ? { [IDENTITY_HEADERS.identity]: s.node.identity, [IDENTITY_HEADERS.signature]: signAsNode(s.node, text) } : {}),
  };
}

/** The signature headers in an HTTP answer's headers (a header sent twice counts as none). */
export function answerSignatures(headers: Readonly<Record<string, string | string[] | number | undefined>>): AnswerSignatures {
  const one = (name: string) => (typeof headers[name] === 'string' ? { value: headers[name] as string } : undefined);
  const signature = one(HEADERS.signature);
  const identity = one(IDENTITY_HEADERS.identity);
  const nodeSignature = one(IDENTITY_HEADERS.signature);
  return { ...(signature ? { signature: signature.value } : {}), ...(identity ? { identity: identity.value } : {}),
    ...(nodeSignature ? { nodeSignature: nodeSignature.value } : {}) };
}

/**
 * Is this an answer to act on? undefined when not; otherwise the node whose own key signed it
 * (`node` is absent when the reader trusts the join key alone).
 */
export function answerSignedBy(trust: Trust, scope: AnswerScope, body: string, given: AnswerSignatures):
  { readonly node?: string; readonly dh?: string } | undefined {
  const t: AnswerTrust = Buffer.isBuffer(trust) ? { joinKey: trust, cluster: '' } : trust;
  const text = answerText(scope, body);
  if (!sameMac(mac(t.joinKey, text), given.signature)) return undefined;
  if (!t.operatorKey) return {};
  const read = signedByNode({ operatorKey: t.operatorKey, cluster: t.cluster, responder: scope.responder }, text, given.identity, given.nodeSignature);
  if (!read.ok) return undefined;
  const revoked = t.revoked && Object.hasOwn(t.revoked, read.value.node) ? t.revoked[read.value.node]! : undefined;
  if (revoked !== undefined && read.value.issued <= revoked) return undefined; // a card the operator revoked speaks for nobody
  return { node: read.value.node, ...(read.value.dh ? { dh: read.value.dh } : {}) };
}

/** A nonce a member will sign an answer for: hex of 16 to 32 bytes. */
export const isNonce = (text: string | undefined): text is string => !!text && NONCE.test(text);

/** The add session's passphrase: the same on the member and the new node, never sent. */
export const sessionPassphrase = (key: Buffer, nonce: string): string =>
  mac(key, `session v1\n${nonce}`).toString('base64url').slice(0, 32);

/**
 * How long a used nonce is kept. A poll (`/join/batch`) changes nothing, so it is kept only while
 * its request could pass the skew check, in memory: after a restart its batch is gone and a replay
 * gets "that batch is over". A join request changes the desk's state: it is kept a day, on disk,
 * so a member whose clock is set back (a bad NTP answer put right) still knows it.
 */
export const NONCE_KEEP_MS = { poll: 2 * MAX_SKEW_MS, join: 24 * 3600_000 } as const;
/** Bounds on what a verified sender can make a member remember, counted over the replay window: the rate limit gives one source about 120 in it. */
export const MAX_NONCES_PER_SOURCE = MAX_REQUESTS_PER_MINUTE * (NONCE_KEEP_MS.poll / 60_000);
export const MAX_NONCES = 16_384;
/** Nonces one source may have kept a day (only requests that changed the desk's state are). */
export const MAX_KEPT_PER_SOURCE = 1000;

/**
 * Nonces of state-changing requests whose signature held, each with its request's timestamp: what
 * a member saves, so a restart does not forget them. `floor`: the newest timestamp it has
 * forgotten; it refuses requests at or below it, but never above now minus twice the skew (see
 * `forgotten`), so a clock that once ran ahead cannot lock every request out once it is right.
 */
export interface NonceLedger { readonly floor: number; readonly nonces: Readonly<Record<string, number>> }

interface Used { readonly at: number; readonly until: number; readonly source: string }

export class ReplayGuard {
  private readonly nonces = new Map<string, Used>();
  private floor: number;
  private readonly recent = new Map<string, number[]>();

  constructor(ledger: NonceLedger = { floor: 0, nonces: {} }) {
    for (const [nonce, at] of Object.entries(ledger.nonces)) this.nonces.set(nonce, { at, until: at + NONCE_KEEP_MS.join, source: '' });
    this.floor = ledger.floor;
  }

  seen(nonce: string): boolean {
    return this.nonces.has(nonce);
  }

  /**
   * At or below the newest timestamp this member has forgotten: it could be a replay it cannot
   * recognise. Capped at now minus twice the skew: only a request that old could be one, and a
   * floor lifted by a clock that ran ahead comes down when the clock is set back.
   */
  forgotten(timestampMs: number, nowMs: number): boolean {
    return timestampMs <= Math.min(this.floor, nowMs - 2 * MAX_SKEW_MS);
  }

  /**
   * Room for one more nonce from `source`: undefined, or why not. Counted over the replay window
   * only: nonces kept a day (requests that changed something) cannot lock anyone out for a day.
   */
  full(source: string, nowMs: number): string | undefined {
    this.prune(nowMs);
    let recent = 0;
    let fromSource = 0;
    for (const used of this.nonces.values()) {
      if (used.at < nowMs - NONCE_KEEP_MS.poll) continue;
      recent++;
      if (used.source === source) fromSource++;
    }
    if (fromSource >= MAX_NONCES_PER_SOURCE) return `${source} has made ${MAX_NONCES_PER_SOURCE} requests in ${NONCE_KEEP_MS.poll / 60_000} minutes`;
    if (recent >= MAX_NONCES) return 'this member holds as many recent requests as it keeps; ask again in a few minutes';
    return undefined;
  }

  /** Marks the nonce used, kept for `keepMs` past its timestamp (NONCE_KEEP_MS). */
  use(nonce: string, timestampMs: number, nowMs: number, source = '', keepMs: number = NONCE_KEEP_MS.join): void {
    this.prune(nowMs);
    this.nonces.set(nonce, { at: timestampMs, until: timestampMs + keepMs, source });
  }

  /** Keeps a used nonce a day: its request changed the desk's state. false when its source already has its share kept. */
  keep(nonce: string): boolean {
    const used = this.nonces.get(nonce);
    if (!used) return false;
    let kept = 0;
    for (const u of this.nonces.values()) if (u.source === used.source && u.until - u.at >= NONCE_KEEP_MS.join) kept++;
    if (kept >= MAX_KEPT_PER_SOURCE) return false;
    this.nonces.set(nonce, { ...used, until: used.at + NONCE_KEEP_MS.join });
    return true;
  }

  /** What to save: the nonces kept a day (the state-changing requests'), and the floor. */
  ledger(): NonceLedger {
    const nonces: Record<string, number> = {};
    for (const [n, used] of this.nonces) if (used.until - used.at >= NONCE_KEEP_MS.join) nonces[n] = used.at;
    return { floor: this.floor, nonces };
  }

  /** Forgets nonces past their keeping time; a nonce with a timestamp ahead of now is kept (its request may yet be replayed). */
  private prune(nowMs: number): void {
    for (const [n, used] of this.nonces) {
      if (used.until >= nowMs) continue;
      this.nonces.delete(n);
      this.floor = Math.max(this.floor, used.at);
    }
  }

  /** Counts the request; false when `source` already made the allowed number this minute. */
  allowed(source: string, nowMs: number): boolean {
    // Sources that went quiet are forgotten now and then: the map cannot grow with every address of the subnet.
    if (this.recent.size > MAX_TRACKED_SOURCES) {
      for (const [s, times] of this.recent) if (!times.some((t) => t > nowMs - 60_000)) this.recent.delete(s);
    }
    const times = (this.recent.get(source) ?? []).filter((t) => t > nowMs - 60_000);
    const ok = times.length < MAX_REQUESTS_PER_MINUTE;
    if (ok) times.push(nowMs);
    if (times.length) this.recent.set(source, times);
    else this.recent.delete(source);
    return ok;
  }
}

export interface JoinRequestIn {
  /** The address the request came from (the socket's peer). */
  readonly source: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
  /** The body was over MAX_BODY_BYTES and was not read to its end (`body` is then empty). */
  readonly oversized?: boolean;
  /** False once the sender has hung up (it gave up waiting and asks elsewhere). */
  readonly stillWaiting?: () => boolean;
}

export type Verdict = { ok: true } | { ok: false; status: number; reason: string };
const refuse = (status: number, reason: string): Verdict => ({ ok: false, status, reason });

/**
 * Is this a request from a holder of the key, for this member, from this sender, fresh, not
 * replayed, from the cluster network, and within limits? Checks run cheapest first. The caller
 * marks the nonce used (`ReplayGuard.use`) once this says yes: since the signature covers the
 * sender's address, a copy sent from anywhere else fails here and cannot burn the real nonce.
 */
export function verifyRequest(key: Buffer, member: string, request: JoinRequestIn, nowMs: number, guard: ReplayGuard,
  inClusterNetwork: (address: string) => boolean): Verdict {
  if (!inClusterNetwork(request.source)) return refuse(403, `${request.source} is outside the cluster network`);
  if (!guard.allowed(request.source, nowMs)) return refuse(429, `more than ${MAX_REQUESTS_PER_MINUTE} requests a minute from ${request.source}`);
  const full = guard.full(request.source, nowMs);
  if (full) return refuse(429, full);
  if (request.oversized || Buffer.byteLength(request.body) > MAX_BODY_BYTES) return refuse(413, `the body is over ${MAX_BODY_BYTES} bytes`);
  const timestamp = request.headers[HEADERS.timestamp];
  const nonce = request.headers[HEADERS.nonce];
  const signature = request.headers[HEADERS.signature];
  if (!timestamp || !nonce || !signature) return refuse(401, 'the request is not signed');
  if (!/^\d{1,16}$/.test(timestamp) || Math.abs(Number(timestamp) - nowMs) > MAX_SKEW_MS)
    return refuse(401, `the timestamp is more than ${MAX_SKEW_MS / 60_000} minutes from this member's clock`);
  if (!isNonce(nonce)) return refuse(401, 'the nonce is not 16-32 bytes of hex');
  const scope: RequestScope = { method: request.method, path: request.path, member, sender: request.source };
  if (!sameMac(mac(key, requestText(scope, timestamp, nonce, request.body)), signature))
    return refuse(401, 'the signature does not match (an image of another cluster, another join passphrase, '
      + 'or a request signed for another member or sender)');
  if (guard.seen(nonce) || guard.forgotten(Number(timestamp), nowMs)) return refuse(409, 'the nonce was used before (a replayed request)');
  return { ok: true };
}
