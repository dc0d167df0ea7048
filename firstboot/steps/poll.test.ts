import { planNodeConfig } from '../../builder/render/node-config.js';
import { cluster } from '../../test/helpers/first-boot-rig.js';
import type { NodeStatus } from '../run/types.js';
import { firstPollDelayMs, jittered, PEER_READS_IN_FLIGHT, PEER_READS_PER_SECOND, peerPollMs, readPeerStatuses } from './poll.js';

/** A seeded generator (mulberry32), so the load below is the same on every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The most reads one node gets in any second when `peers` nodes, started in the same second, each poll it: first after `first()`, then every `interval()`. */
function busiestSecond(peers: number, first: () => number, interval: () => number, seconds = 3600): number {
  const perSecond = new Map<number, number>();
  for (let p = 0; p < peers; p++)
    for (let t = first(); t < seconds * 1000; t += interval()) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
  return Math.max(...perSecond.values());
}

describe('how often peers poll one node', () => {
  it('keeps the small cluster\'s interval and stretches it as the cluster grows', () => {
    expect(peerPollMs(2, 5000)).toBe(5000);
    expect(peerPollMs(3, 2000)).toBe(2000);
    expect(peerPollMs(49, 5000)).toBe(9800);
    expect(peerPollMs(199, 10_000)).toBe(39_800);
    for (let peers = 1; peers < 200; peers++) expect((peers * 1000) / peerPollMs(peers, 5000)).toBeLessThanOrEqual(PEER_READS_PER_SECOND);
  });

  it('jitters between half and one and a half times the interval', () => {
    expect(jittered(10_000, () => 0)).toBe(5000);
    expect(jittered(10_000, () => 0.999)).toBeCloseTo(14_990);
    const random = seeded(1);
    const spread = Array.from({ length: 1000 }, () => jittered(1000, random));
    expect(Math.min(...spread)).toBeGreaterThanOrEqual(500);
    expect(Math.max(...spread)).toBeLessThan(1500);
  });

  it('fifty nodes that booted together: no node is read more than 20 times in a second, where the fixed 5 s gave 49', () => {
    expect(busiestSecond(49, () => 0, () => 5000)).toBe(49); // what wait-peers did: all in step
    expect(busiestSecond(49, () => 0, () => jittered(peerPollMs(49, 5000), Math.random))).toBe(49); // jitter alone: the first round still is
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = seeded(seed);
      expect(busiestSecond(49, () => firstPollDelayMs(49, random), () => jittered(peerPollMs(49, 5000), random))).toBeLessThanOrEqual(20);
    }
  });

  it('three nodes: the first read comes within half a second, as before', () => {
    expect(firstPollDelayMs(2, () => 0.999)).toBeLessThan(500);
  });
});

describe('reading every peer', () => {
  it('keeps the file\'s order, with at most a few reads in flight, a peer that does not answer as undefined', async () => {
    const config = planNodeConfig(cluster(50), 'pi1');
    let inFlight = 0;
    let most = 0;
    const statuses = await readPeerStatuses({ config, readPeer: async (address) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
      inFlight--;
      return address.endsWith('.20') ? undefined : { node: address, step: 'wait-peers', state: 'waiting', since: 't' } as NodeStatus;
    } });
    expect(statuses.map((s) => s?.node)).toEqual(config.peers.map((p) => (p.address.endsWith('.20') ? undefined : p.address)));
    expect(most).toBe(PEER_READS_IN_FLIGHT);
  });
});
