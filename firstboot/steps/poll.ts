import type { Clock, NodeStatus, StepContext } from '../run/types.js';

/** Calls `probe` until it returns a value or `timeoutMs` passes; undefined on timeout. */
export async function pollUntil<T>(clock: Clock, timeoutMs: number, intervalMs: number,
  probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (clock.now() >= deadline) return undefined;
    await clock.sleep(intervalMs);
  }
}

/**
 * Between half and one and a half times `ms`: nodes that booted together, or whose wait ended
 * together, spread their requests instead of reaching a peer in the same second.
 */
export const jittered = (ms: number, random: () => number = Math.random) => ms * (0.5 + random());

/** What one node answers, on average, to peers that all poll it: their reads, and their join polls on a member. */
export const PEER_READS_PER_SECOND = 5;

/**
 * How often a node that every peer polls is read by each of them: `floorMs` in a small cluster,
 * longer as it grows, so the node answers about PEER_READS_PER_SECOND a second in all (fifty
 * nodes: each of 49 peers every 9.8 s, not every 5 s, when a Pi serves 10 a second or, all in
 * step, 49 in one second).
 */
export const peerPollMs = (peers: number, floorMs: number) => Math.max(floorMs, Math.ceil((peers * 1000) / PEER_READS_PER_SECOND));

/**
 * Before the first read of a polling loop that every node enters at about the same time (fifty
 * identical Pis reach wait-peers within a second): a random part of the time in which the
 * peers' reads come at PEER_READS_PER_SECOND (three nodes: under half a second; fifty: up to 9.8 s).
 */
export const firstPollDelayMs = (peers: number, random: () => number = Math.random) => random() * peerPollMs(peers, 0);

/** Reads of peers' statuses in flight at once: fifty nodes' reads leave each Pi a few at a time, not 49 in one burst. */
export const PEER_READS_IN_FLIGHT = 8;

/** Every peer's status (undefined where it does not answer), in the cluster file's order. */
export async function readPeerStatuses(ctx: Pick<StepContext, 'config' | 'readPeer'>): Promise<(NodeStatus | undefined)[]> {
  const { peers, statusPort } = ctx.config;
  const statuses: (NodeStatus | undefined)[] = new Array(peers.length);
  let next = 0;
  const reader = async () => {
    for (let i = next++; i < peers.length; i = next++) statuses[i] = await ctx.readPeer(peers[i]!.address, statusPort);
  };
  await Promise.all(Array.from({ length: Math.min(PEER_READS_IN_FLIGHT, peers.length) }, reader));
  return statuses;
}
