// The new node's side of the wire: POST a signed join request to a member's endpoint, from this
// node's own intra-cluster address (the member checks that the request comes from the address
// the node claims, and the signature covers it). The answer is read with a size cap; whether it
// is authentic is for the caller to check (join-answer.ts).
import { httpExchange } from '../run/http-exchange.js';
import type { JoinSender } from '../run/types.js';
import { answerSignatures } from './join-auth.js';

/** Ask to be added; then ask whether the batch's add session is open. */
export const JOIN_PATH = '/join';
export const BATCH_PATH = '/join/batch';
/** A join answer is a line of JSON (with a batch's plan: a few hundred bytes a node); anything much longer is not one. */
export const MAX_ANSWER_BYTES = 256 * 1024;

export const sendJoin: JoinSender = async (address, port, path, headers, body, from) => {
  const reply = await httpExchange({
    method: 'POST', host: address, port, path, headers, body, ...(from ? { from } : {}), timeoutMs: 30_000, maxBytes: MAX_ANSWER_BYTES,
  });
  if (!reply) return undefined;
  return { status: reply.status, body: reply.body, ...answerSignatures(reply.headers) };
};
