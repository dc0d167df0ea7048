// Asks a node's status endpoint; undefined when it does not answer (yet). With the cluster's join
// key, the reader sends a fresh nonce and takes only a status signed for it: a peer's step decides
// whether a node forms or joins, so a status anyone could have sent counts as no answer. With the
// operator's key too, only a status signed by the node the operator sealed for that address, about
// that node: another card cannot speak for it.
import { randomBytes } from 'node:crypto';
import { answerSignatures, answerSignedBy, HEADERS, type Trust } from '../join/join-auth.js';
import { httpExchange } from '../run/http-exchange.js';
import type { Clock, NodeStatus, PeerStatusReader } from '../run/types.js';

/** A status is a few kilobytes; a preflight report with many findings stays well under this. */
export const MAX_STATUS_BYTES = 64 * 1024;

/** `from`: the local address to ask from (a node asks from its intra-cluster address; the simulation's nodes share one machine). */
export async function readStatus(address: string, port: number, trust?: Trust, timeoutMs = 3000, from?: string): Promise<NodeStatus | undefined> {
  return (await askStatus(address, port, trust, timeoutMs, from)).status;
}

/** readStatus, and the HTTP status of the answer (0: none): the simulation counts refusals. */
export async function askStatus(address: string, port: number, trust?: Trust, timeoutMs = 3000, from?: string):
  Promise<{ readonly http: number; readonly status?: NodeStatus }> {
  const nonce = trust ? randomBytes(16).toString('hex') : undefined;
  const reply = await httpExchange({
    method: 'GET', host: address, port, path: '/status', ...(nonce ? { headers: { [HEADERS.nonce]: nonce } } : {}),
    timeoutMs, maxBytes: MAX_STATUS_BYTES, ...(from ? { from } : {}),
  });
  if (!reply) return { http: 0 };
  if (reply.status !== 200) return { http: reply.status };
  const signer = trust && nonce ? answerSignedBy(trust, { kind: 'status', responder: address, nonce, status: reply.status }, reply.body,
    answerSignatures(reply.headers)) : {};
  if (!signer) return { http: reply.status };
  try {
    const status = JSON.parse(reply.body) as NodeStatus;
    const valid = typeof status?.node === 'string' && typeof status.step === 'string' && (signer.node === undefined || signer.node === status.node);
    return valid ? { http: reply.status, status } : { http: reply.status };
  } catch {
    return { http: reply.status };
  }
}

readStatus satisfies PeerStatusReader;

/**
 * `read`, but a peer's status read less than `ms` ago is taken again instead of asked for: a
 * step that decides on the peers' statuses right after another step read them (preseed after
 * wait-peers) does not send every peer a second read in the same moment.
 */
export function rememberingReads(read: PeerStatusReader, clock: Clock, ms: number): PeerStatusReader {
  const recent = new Map<string, { at: number; status: NodeStatus | undefined }>();
  return async (address, port, trust) => {
    const id = `${address}:${port}`;
    const seen = recent.get(id);
    if (seen && clock.now() - seen.at < ms) return seen.status;
    const status = await read(address, port, trust);
    recent.set(id, { at: clock.now(), status });
    return status;
  };
}
