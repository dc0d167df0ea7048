// The new node's side of the wire: POST a signed join request to a member's endpoint, from this
// node's own intra-cluster address (the member checks that the request comes from the address
// the node claims; a Pi with a second address in the subnet would otherwise pick either).
import { request } from 'node:http';
import type { JoinAnswer, JoinSender } from '../run/types.js';

export const sendJoin: JoinSender = (address, port, headers, body, from) => new Promise<JoinAnswer | undefined>((resolve) => {
  const req = request({
    host: address, port, path: '/join', method: 'POST', timeout: 30_000, ...(from ? { localAddress: from } : {}),
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
  }, (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      let reason: unknown;
      try {
        reason = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { reason?: unknown }).reason;
      } catch { /* an answer without a reason */ }
      resolve({ status: res.statusCode ?? 0, ...(typeof reason === 'string' ? { reason } : {}) });
    });
    res.on('error', () => resolve(undefined));
  });
  req.on('timeout', () => req.destroy());
  req.on('error', () => resolve(undefined));
  req.end(body);
});
