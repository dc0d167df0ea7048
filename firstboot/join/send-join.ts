// The new node's side of the wire: POST a signed join request to a member's endpoint, from this
// node's own intra-cluster address (the member checks that the request comes from the address
// the node claims, and the signature covers it). The answer is read with a size cap; whether it
// is authentic is for the caller to check (join-answer.ts).
import { httpExchange } from '../run/http-exchange.js';
import type { JoinSender } from '../run/types.js';
import { HEADERS } from './join-auth.js';

export const JOIN_PATH = '/join';
/** A join answer is a line of JSON; anything much longer is not one. */
export const MAX_ANSWER_BYTES = 4096;

export const sendJoin: JoinSender = async (address, port, headers, body, from) => {
  const reply = await httpExchange({
    method: 'POST', host: address, port, path: JOIN_PATH, headers, body, ...(from ? { from } : {}), timeoutMs: 30_000, maxBytes: MAX_ANSWER_BYTES,
  });
  if (!reply) return undefined;
  const signature = reply.headers[HEADERS.signature];
  return { status: reply.status, body: reply.body, ...(typeof signature === 'string' ? { signature } : {}) };
};
