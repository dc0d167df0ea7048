// How a simulated node reaches its peers: every request leaves from the node's own loopback
// address (so each status endpoint's per-source limits see one node, not the whole cluster), the
// harness counts what came back (Traffic), and a node that stalls answers late (HoldAnswer).
import { BATCH_PATH, sendJoin } from '../../firstboot/join/send-join.js';
import type { JoinSender, PeerStatusReader } from '../../firstboot/run/types.js';
import { askStatus } from '../../firstboot/status/read-status.js';
import type { Traffic } from './traffic.js';

/**
 * Resolves when the node at `address` gets round to answering a request that reached it at
 * `sentAt` (model ms from the start): at once, or when a stall it was in ends. The answer itself
 * is the one the node gave when the request came.
 */
export type HoldAnswer = (address: string, sentAt: number) => Promise<void>;
const atOnce: HoldAnswer = async () => undefined;

/** The product's status read, sent from `from`, counted with the HTTP status it got, its answer held through a stall. */
export function statusReaderFrom(from: string, traffic: Traffic, hold: HoldAnswer = atOnce): PeerStatusReader {
  return async (address, port, trust) => {
    const started = performance.now();
    const sentAt = traffic.now();
    const { http, status } = await askStatus(address, port, trust, undefined, from);
    traffic.count(address, 'status', sentAt, http || undefined, performance.now() - started);
    if (http) await hold(address, sentAt);
    return status;
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
