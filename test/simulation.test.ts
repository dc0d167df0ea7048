// The simulation harness (test/simulation/harness.ts) at 10 nodes: the real first-boot service of
// every node over real HTTP on loopback, against the TEST DOUBLES of snapd and MicroCloud with a
// modelled time per action (60 model seconds a wall second here). `npm run simulate` runs it at 50.
import { DEFAULT_MODEL, runScenario } from './simulation/harness.js';

const MODEL = { ...DEFAULT_MODEL, speedup: 60 };
const NODES = 10;

describe('ten Pis on loopback, the real service each', () => {
  it('formation: all done with one formation, each node running the preseed once; no node serves more than 20 requests a second', async () => {
    const r = await runScenario('formation', NODES, MODEL);
    expect(r).toMatchObject({ done: NODES, addSessions: 0, preseeds: NODES });
    expect(r.maxRequestsPerSecond).toBeLessThanOrEqual(20);
    expect(r.maxStatusLatencyMs).toBeLessThan(1000); // 100 ms is the goal on an idle machine; CI shares its cores
  }, 120_000);

  it('grow-burst: 3 formed, 7 powered on within two minutes: all done in at most two add sessions', async () => {
    const r = await runScenario('grow-burst', NODES, MODEL);
    expect(r).toMatchObject({ done: NODES });
    expect(r.addSessions).toBeGreaterThanOrEqual(1);
    expect(r.addSessions).toBeLessThanOrEqual(2);
    // The formation on each founder, then the founder's side of each session and one preseed per new node.
    expect(r.preseeds).toBe(3 + r.addSessions + (NODES - 3));
    // In model time: the founders' snaps and formation, the new nodes' snaps after their power-on within two minutes,
    // then no more than the gathering window, two sessions between them adding the 7, and two minutes of polling (a busy CI runner).
    const snaps = 4 * MODEL.snapInstallS;
    const bound = snaps + MODEL.formationS + 120 + snaps + 60 + 2 * MODEL.addBaseS + (NODES - 3) * MODEL.addPerSystemS + 120;
    expect(r.modelSeconds).toBeLessThanOrEqual(bound);
    expect(r.maxRequestsPerSecond).toBeLessThanOrEqual(20);
  }, 120_000);

  it('grow-trickle: 7 powered on a minute apart, each while the session before runs: gathered into the next batch, not one session each', async () => {
    const r = await runScenario('grow-trickle', NODES, MODEL);
    expect(r).toMatchObject({ done: NODES, restarts: 0 });
    // A session takes 120 s + 20 s a node: the ones that came meanwhile go together into the next (3 here; one each was 7).
    expect(r.addSessions).toBeLessThanOrEqual(4);
    expect(r.preseeds).toBe(3 + r.addSessions + (NODES - 3));
    expect(r.maxRequestsPerSecond).toBeLessThanOrEqual(20);
  }, 120_000);

  it('a joiner that dies mid-batch: the others are all added', async () => {
    const r = await runScenario('joiner-dies', NODES, MODEL);
    expect(r.done).toBe(NODES - 1);
    expect(r.maxRequestsPerSecond).toBeLessThanOrEqual(20);
  }, 120_000);

  it('the member dies mid-batch: the new nodes go to the next member and are all added', async () => {
    const r = await runScenario('member-dies', NODES, MODEL);
    expect(r.done).toBe(NODES);
    expect(r.addSessions).toBeGreaterThanOrEqual(2); // the one that died with pi1, then pi2's
  }, 120_000);
});
