// Asks a node's status endpoint; undefined when it does not answer (yet). With the cluster's join
// key, the reader sends a fresh nonce and takes only a status signed for it: a peer's step decides
// whether a node forms or joins, so a status anyone could have sent counts as no answer.
import { randomBytes } from 'node:crypto';
import { answerIsAuthentic, HEADERS } from '../join/join-auth.js';
import { httpExchange } from '../run/http-exchange.js';
import type { Clock, NodeStatus, PeerStatusReader } from '../run/types.js';

/** A status is a few kilobytes; a preflight report with many findings stays well under this. */
export const MAX_STATUS_BYTES = 64 * 1024;

/** `from`: the local address to ask from (a node asks from its intra-cluster address; the simulation's nodes share one machine). */
export async function readStatus(address: string, port: number, key?: Buffer, timeoutMs = 3000, from?: string): Promise<NodeStatus | undefined> {
  const nonce = key ? randomBytes(16).toString('hex') : undefined;
  const reply = await httpExchange({
    method: 'GET', host: address, port, path: '/status', ...(nonce ? { headers: { [HEADERS.nonce]: nonce } } : {}),
    timeoutMs, maxBytes: MAX_STATUS_BYTES, ...(from ? { from } : {}),
  });
  if (!reply || reply.status !== 200) return undefined;
  const signature = reply.headers[HEADERS.signature];
  if (key && nonce && !answerIsAuthentic(key, { kind: 'status', responder: address, nonce, status: reply.status }, reply.body,
    typeof signature === 'string' ? signature : undefined))
    return undefined;
  try {
    const status = JSON.parse(reply.body) as NodeStatus;
    return typeof status?.node === 'string' && typeof status.step === 'string' ? status : undefined;
  } catch {
    return undefined;
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
  return async (address, port, key) => {
    const id = `${address}:${port}`;
    const seen = recent.get(id);
    if (seen && clock.now() - seen.at < ms) return seen.status;
    const status = await read(address, port, key);
    recent.set(id, { at: clock.now(), status });
    return status;
  };
}
