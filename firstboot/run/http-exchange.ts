// One HTTP request to a peer on the cluster network, bounded in time and in what it reads back:
// a peer (or whoever answers at its address) cannot hold a node with a slow or endless answer.
import { request, type IncomingHttpHeaders } from 'node:http';

export interface Exchange {
  readonly method: 'GET' | 'POST';
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string | number>>;
  readonly body?: string;
  /** Send from this local address (the node's own intra-cluster address). */
  readonly from?: string;
  readonly timeoutMs: number;
  /** An answer longer than this counts as no answer. */
  readonly maxBytes: number;
}

export interface ExchangeReply { readonly status: number; readonly body: string; readonly headers: IncomingHttpHeaders }

/** The reply, or undefined when there is none in time, or it is over `maxBytes`. */
export const httpExchange = (x: Exchange): Promise<ExchangeReply | undefined> => new Promise((resolve) => {
  let settled = false;
  const done = (reply: ExchangeReply | undefined) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    resolve(reply);
  };
  const req = request({
    host: x.host, port: x.port, path: x.path, method: x.method, ...(x.from ? { localAddress: x.from } : {}),
    headers: { ...(x.body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(x.body) } : {}), ...x.headers },
  }, (res) => {
    const declared = Number(res.headers['content-length'] ?? 0);
    if (declared > x.maxBytes) {
      res.destroy();
      done(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > x.maxBytes) {
        res.destroy();
        done(undefined);
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    res.on('error', () => done(undefined));
  });
  // One deadline for the whole exchange, not an idle timeout a trickling answer could keep resetting.
  const timer = setTimeout(() => {
    req.destroy();
    done(undefined);
  }, x.timeoutMs);
  req.on('error', () => done(undefined));
  req.end(x.body);
});
