// The node's endpoint. GET /status -> NodeStatus as JSON, for peers and the operator: it only
// ever serves the status object it is given, so no secret can reach it. POST /join is the one
// route that changes anything, and only on a formed member: it hands the request to the join desk.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_BODY_BYTES, type JoinRequestIn } from '../join/join-auth.js';
import type { JoinAnswer, NodeStatus } from '../run/types.js';

export interface StatusServer { readonly port: number; close(): Promise<void> }

/** Takes join requests once this node is a formed member; undefined before (or with grow off). */
export type JoinHandler = (request: JoinRequestIn) => Promise<JoinAnswer>;

/** The body, or undefined when it is over the limit (the rest is not read). */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const sourceOf = (req: IncomingMessage) => (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');

export async function startStatusServer(host: string, port: number, current: () => NodeStatus,
  joinDesk: () => JoinHandler | undefined = () => undefined): Promise<StatusServer> {
  const server: Server = createServer((req, res) => {
    const answer = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', connection: 'close' })
        .end(`${JSON.stringify(body)}\n`);
    };
    if (req.method === 'GET' && (req.url === '/status' || req.url === '/')) {
      answer(200, current());
      return;
    }
    if (req.method === 'POST' && req.url === '/join') {
      void (async () => {
        const desk = joinDesk();
        if (!desk) {
          answer(503, { reason: `${current().node} is not a formed member that adds nodes (yet)` });
          return;
        }
        const body = await readBody(req);
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
        // An oversized body is not read to its end; the desk still sees its size and refuses it (and logs it).
        const result = await desk({ source: sourceOf(req), headers, body: body ?? ' '.repeat(MAX_BODY_BYTES + 1) });
        answer(result.status, result.status === 202 ? { ok: true } : { reason: result.reason });
      })().catch(() => answer(500, { reason: 'the member failed to handle the request' }));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /status\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
