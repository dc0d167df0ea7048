// The node's endpoint. GET /status -> NodeStatus as JSON, for peers and the operator: it only
// ever serves the status object it is given, so no secret can reach it. POST /join is the one
// route that changes anything, and only on a formed member: it hands the request to the join desk.
// It is the one thing a Pi serves to the network, so it holds against a peer that misbehaves:
// it listens on the intra-cluster address only, gives a request seconds (not Node's minutes) to
// arrive, caps connections in all and per source (a full pool makes room by closing a connection
// that is still only waiting for its request), answers only to its own names (no DNS rebinding),
// and signs what a node acts on (statuses and join answers) for the asker's nonce.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { answerHeaders, isNonce, HEADERS, requestDigest, MAX_BODY_BYTES, type AnswerSigner, type JoinRequestIn } from '../join/join-auth.js';
import { joinAnswerBody } from '../join/join-answer.js';
import { BATCH_PATH, JOIN_PATH } from '../join/send-join.js';
import { REVOKE_PATH } from '../join/join-ticket.js';
import { connectionCaps, HTTP_LIMITS, listenCapped, peerTest, sourceOf, type HttpLimits, type ListeningServer, type Peers } from '../run/capped-server.js';
import type { JoinAnswer, NodeStatus } from '../run/types.js';

export type StatusServer = ListeningServer;

/** Takes the operator's revocations (its own signature: no join key needed); undefined before this node is a member. */
export type RevokeHandler = (body: string) => Promise<{ status: number; reason?: string }>;

/** Takes join requests once this node is a formed member; undefined before (or with grow off). */
export type JoinHandler = (request: JoinRequestIn) => Promise<JoinAnswer>;

export interface StatusServerOptions {
  readonly host: string;
  readonly port: number;
  readonly current: () => NodeStatus;
  /** Host names and addresses a request may name in its Host header (with or without the port). */
  readonly names: readonly string[];
  /** The cluster's nodes: they count against the per-source cap only, so others filling the total cannot cut peers off. */
  readonly peers?: Peers;
  /** The cluster's join key (and the card's own key, built with an operator key), once this node has it: signs statuses and join answers. */
  readonly key: () => Buffer | AnswerSigner | undefined;
  readonly joinDesk?: () => JoinHandler | undefined;
  /** POST /join/revoke: the operator's signed revocation of a node's join tickets, once this node is a member with a desk. */
  readonly revoke?: () => RevokeHandler | undefined;
  readonly limits?: HttpLimits;
}

type Body = { text: string } | { oversized: true };

/** The body, or `oversized` as soon as it is known to be over the limit (the rest is not read). */
async function readBody(req: IncomingMessage): Promise<Body> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return { oversized: true };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return { oversized: true };
    chunks.push(chunk);
  }
  return { text: Buffer.concat(chunks).toString('utf8') };
}

const hostOf = (header: string | undefined) => (header ?? '').toLowerCase().replace(/^\[([^\]]*)\](:\d+)?$/, '$1').replace(/:\d+$/, '');

export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const limits = options.limits ?? HTTP_LIMITS;
  const names = new Set(options.names.map((n) => n.toLowerCase()));
  const caps = connectionCaps(limits, peerTest(options.peers));
  const server: Server = createServer({
    headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs, keepAliveTimeout: 1000,
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
  }, (req, res) => {
    const socket = req.socket;
    const source = sourceOf(socket); // read now: the socket is gone once a refused request is destroyed
    const nonce = req.headers[HEADERS.nonce];
    /** `signed`: a status always (anyone may ask for it); a join answer only when the request's own signature held. */
    /** `request`: the body of the join, batch or revoke request answered (the answer is bound to it). */
    const answer = (status: number, body: string, signed = true, request?: string) => {
      const key = options.key();
      const kind = req.url === JOIN_PATH || req.url === BATCH_PATH ? 'join' : req.url === REVOKE_PATH ? 'revoke' : 'status';
      const digest = request === undefined ? {} : { request: requestDigest(req.url ?? '', request) };
      const signature = signed && key && typeof nonce === 'string' && isNonce(nonce)
        ? answerHeaders(key, { kind, responder: options.host, nonce, status, ...digest }, body) : {};
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', connection: 'close', ...signature }).end(body);
    };
    const path = req.url ?? '';
    const join = req.method === 'POST' && (path === JOIN_PATH || path === BATCH_PATH || path === REVOKE_PATH);
    const named = names.has(hostOf(req.headers.host));
    if (!(join && named)) caps.serving(socket); // answered right here; a join is served once its body is in (handleJoin)
    if (!named) {
      res.writeHead(421, { 'content-type': 'text/plain', connection: 'close' }).end('ask for this node by its name or address\n');
      return;
    }
    if (req.method === 'GET' && (req.url === '/status' || req.url === '/')) {
      answer(200, `${JSON.stringify(options.current())}\n`);
      return;
    }
    if (join && path === REVOKE_PATH) {
      void handleRevoke(req, res, options, answer, () => caps.serving(socket))
        .catch(() => answer(500, '{"reason":"the node failed to take it"}\n', false));
      return;
    }
    if (join) {
      void handleJoin(req, res, path, source, options, answer, () => caps.serving(socket))
        .catch(() => answer(500, joinAnswerBody({ status: 500, reason: 'the member failed to handle the request' }), false));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain', connection: 'close' }).end('GET /status\n');
  });
  return listenCapped(server, caps, options.port, options.host);
}

/**
 * The operator's revocation: it carries its own signature, so anyone may deliver it. The answer is
 * signed like a status (for the nonce the operator sent): `build-image revoke` counts a member as
 * having taken it only on that member's own word.
 */
async function handleRevoke(req: IncomingMessage, res: ServerResponse, options: StatusServerOptions,
  answer: (status: number, body: string, signed?: boolean, request?: string) => void, serving: () => void): Promise<void> {
  const body = await readBody(req);
  serving();
  const revoke = options.revoke?.();
  const result = !revoke ? { status: 503, reason: `${options.current().node} is not a formed member that adds nodes (yet)` }
    : 'text' in body ? await revoke(body.text) : { status: 413, reason: `the body is over ${MAX_BODY_BYTES} bytes` };
  if (!('text' in body)) res.once('finish', () => req.socket?.destroy());
  answer(result.status, `${JSON.stringify(result.status === 200 ? { ok: true } : { reason: result.reason ?? '' })}\n`, true,
    'text' in body ? body.text : undefined);
}

/** `serving`: called once the request is whole and handed on (until then a full pool may close it to make room). */
async function handleJoin(req: IncomingMessage, res: ServerResponse, path: string, source: string, options: StatusServerOptions,
  answer: (status: number, body: string, signed?: boolean, request?: string) => void, serving: () => void): Promise<void> {
  const desk = options.joinDesk?.();
  if (!desk) {
    serving();
    // Unsigned: a joiner takes it as no answer and asks the next member rather than wait here.
    answer(503, joinAnswerBody({ status: 503, reason: `${options.current().node} is not a formed member that adds nodes (yet)` }), false);
    return;
  }
  const socket = req.socket; // req.socket is null once the request is destroyed
  const body = await readBody(req);
  serving();
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
  // An oversized body is not read to its end; the desk refuses it (413), logs it and counts it like any other request.
  const result = await desk({ source, method: req.method ?? '', path, headers, stillWaiting: () => !socket.destroyed,
    ...('text' in body ? { body: body.text } : { body: '', oversized: true }) });
  if (!('text' in body)) res.once('finish', () => socket.destroy()); // the rest of the body is not waited for
  answer(result.status, joinAnswerBody(result), result.verified === true, 'text' in body ? body.text : undefined);
}
