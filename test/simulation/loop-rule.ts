// When a simulation's figures can be trusted: its one event loop was never held longer than a
// tenth of the smallest poll interval in play (model time). A longer hold bunches every node's
// timers into one moment, and requests a second, latencies and phases then say more about the
// harness than about the product.
import { BATCH_POLL_MS, JOIN_RETRY_MS } from '../../firstboot/steps/join-formed.js';
import { jittered, peerPollMs } from '../../firstboot/steps/poll.js';
import { PEER_POLL_MS } from '../../firstboot/steps/wait-peers.js';

/** wait-ready.ts polls for the node's address every 2 s; preseed.ts's unicast joiner polls the initiator at peerPollMs(peers, 2000). Literals there. */
const WAIT_READY_POLL_MS = 2000;
const INITIATOR_POLL_FLOOR_MS = 2000;

/**
 * The shortest interval at which a step polls, for nodes with these numbers of peers (model ms):
 * a jittered one at its shortest (half). 2000 ms with today's constants, at any size: wait-ready's
 * address poll. (The join desk's one-second gathering check and the MicroCloud double's one-second
 * tick are not polls of a step: they set how soon a session opens, not when requests are sent.)
 */
export function smallestPollMs(peerCounts: readonly number[]): number {
  const soonest = (ms: number) => jittered(ms, () => 0);
  return Math.min(WAIT_READY_POLL_MS, ...peerCounts.flatMap((peers) => [
    soonest(peerPollMs(peers, PEER_POLL_MS)), soonest(peerPollMs(peers, BATCH_POLL_MS)), soonest(peerPollMs(peers, JOIN_RETRY_MS)),
    peerPollMs(peers, INITIATOR_POLL_FLOOR_MS),
  ]));
}

/** The rule: the longest hold (wall ms) times the speedup is at most a tenth of the smallest poll interval (model ms). */
export const loopDelayOk = (maxLoopDelayMs: number, speedup: number, smallestPoll: number): boolean =>
  maxLoopDelayMs * speedup <= smallestPoll / 10;
