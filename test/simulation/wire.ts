// How a simulated node reaches its peers: every request leaves from the node's own loopback
// address (so each status endpoint's per-source limits see one node, not the whole cluster), the
// harness counts what came back (Traffic), and a node that stalls answers late (HoldAnswer).
import { randomBytes } from 'node:crypto';
import { answerIsAuthentic, HEADERS } from '../../firstboot/join/join-auth.js';
import { BATCH_PATH, sendJoin } from '../../firstboot/join/send-join.js';
import { httpExchange } from '../../firstboot/run/http-exchange.js';
import type { JoinSender, NodeStatus, PeerStatusReader } from '../../firstboot/run/types.js';
import { MAX_STATUS_BYTES } from '../../firstboot/status/read-status.js';
import type { Traffic } from './traffic.js';

/** readStatus's own limit (firstboot/status/read-status.ts). */
const STATUS_TIMEOUT_MS = 3000;

/**
 * Resolves when the node at `address` gets round to answering a request that reached it at
 * `sentAt` (model ms from the start): at once, or when a stall it was in ends. The answer itself
 * is the one the node gave when the request came.
 */
export type HoldAnswer = (address: string, sentAt: number) => Promise<void>;
const atOnce: HoldAnswer = async () => undefined;

/**
 * readStatus (firstboot/status/read-status.ts) step for step, sent from `from`, telling the
 * harness the HTTP status it got (readStatus takes no source address and keeps the status to itself).
 * Keep the two alike: a fresh nonce with the key, only a 200 signed for that nonce and responder counts.
 */
export function statusReaderFrom(from: string, traffic: Traffic, hold: HoldAnswer = atOnce): PeerStatusReader {
  return async (address, port, key) => {
    const started = performance.now();
    const sentAt = traffic.now();
    const nonce = key ? randomBytes(16).toString('hex') : undefined;
    const reply = await httpExchange({
      method: 'GET', host: address, port, path: '/status', from, ...(nonce ? { headers: { [HEADERS.nonce]: nonce } } : {}),
      timeoutMs: STATUS_TIMEOUT_MS, maxBytes: MAX_STATUS_BYTES,
    });
    traffic.count(address, 'status', sentAt, reply?.status, performance.now() - started);
    if (reply) await hold(address, sentAt);
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
  };
}

/** The product's sendJoin (it sends from the address the step gives), counted, its answer held through a stall. */
export function countedJoinSender(traffic: Traffic, hold: HoldAnswer = atOnce): JoinSender {
  return async (address, port, path, headers, body, from) => {
    const started = performance.now();
    const sentAt = traffic.now();
    const reply = await sendJoin(address, port, path, headers, body, from);
    traffic.count(address, path === BATCH_PATH ? 'batch' : 'join', sentAt, reply?.status, performance.now() - started);
    if (reply) await hold(address, sentAt);
    return reply;
  };
}
