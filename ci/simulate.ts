// npm run simulate -- --nodes 50 [--scenario NAME] [--json] [--speedup N]: runs the real
// first-boot service for N nodes on loopback (127.0.0.11 on), over real HTTP, each node from its
// own address with its files in a folder of its own, against the test doubles of snapd and
// MicroCloud with a modelled time per action (test/simulation/harness.ts), and reports per
// scenario: nodes done, add sessions (opened, most at once), preseeds, model and wall seconds,
// the most requests a node served in a model second and minute, refused and unanswered requests,
// the slowest status answer, the event loop's longest hold and whether it kept within a tenth of
// the smallest poll interval (if not, lower --speedup before quoting the figures).
// Not a test: figures for the notes (test/simulation.test.ts runs the checks in CI).
//
// npm run simulate -- --bundle [--nodes 50] [--source ethernet|wifi|store] [--speedup N] [--scale N] [--json]:
// a 500 MB snap bundle spreading from the operator's computer (on Ethernet, on Wi-Fi) over N Pis
// that pass it on, or N Pis each taking it from the store through a 100 Mbit/s uplink
// (test/simulation/bundle-spread.ts): model seconds until the first and the last node has it,
// against one node alone from the same source, and the copies the operator's computer sent.
import { parseArgs } from 'node:util';
import { OPERATOR_LINKS, spreadBundle, SPREAD_DEFAULTS, type Source } from '../test/simulation/bundle-spread.js';
import { DEFAULT_MODEL, runScenario, SCENARIOS, type Scenario } from '../test/simulation/harness.js';

const { values } = parseArgs({ options: {
  nodes: { type: 'string', default: '50' }, scenario: { type: 'string' }, json: { type: 'boolean', default: false },
  speedup: { type: 'string' }, 'snap-install': { type: 'string' }, formation: { type: 'string' }, 'add-base': { type: 'string' },
  'add-per-system': { type: 'string' }, bundle: { type: 'boolean', default: false }, source: { type: 'string' }, scale: { type: 'string' },
} });
const num = (v: string | undefined, fallback: number) => (v === undefined ? fallback : Number(v));

if (values.bundle) {
  const sources: Source[] = values.source ? [values.source as Source] : [...OPERATOR_LINKS, 'store'];
  for (const source of sources) {
    if (![...OPERATOR_LINKS, 'store'].includes(source)) {
      console.error(`simulate: --source is one of ${[...OPERATOR_LINKS, 'store'].join(', ')}`);
      process.exit(2);
    }
    // The store's uplink is shared by every node: bigger files (a smaller scale) keep each transfer's turn within the idle limit.
    const scale = num(values.scale, source === 'store' ? 20 : SPREAD_DEFAULTS.scale);
    const speedup = num(values.speedup, source === 'store' ? 40 : 0.5);
    const one = await spreadBundle({ nodes: 1, source, scale, speedup });
    const all = await spreadBundle({ nodes: Number(values.nodes), source, scale, speedup });
    const oneS = one.doneS[0]!;
    const lastS = all.doneS[all.doneS.length - 1]!;
    const ratio = Math.round((lastS / oneS) * 100) / 100;
    if (values.json) console.log(JSON.stringify({ ...all, scale, speedup, oneNodeS: oneS, ratio }));
    else console.log(`bundle from ${source}: ${all.complete}/${all.nodes} nodes have the ${all.bundleMB} MB bundle, the first after ${all.doneS[0]} s, `
      + `the last after ${lastS} s model time (one node alone: ${oneS} s; ${ratio}x); the ${source === 'store' ? 'store' : "operator's computer"} sent `
      + `${all.sourceCopies} copies, the nodes ${all.peerCopies} to each other (${all.passedOnArrivingCopies} while still arriving); `
      + `scale ${scale}, speedup ${speedup}, ${all.wallSeconds} s wall`);
  }
  process.exit(0);
}
const model = {
  speedup: num(values.speedup, DEFAULT_MODEL.speedup), snapInstallS: num(values['snap-install'], DEFAULT_MODEL.snapInstallS),
  formationS: num(values.formation, DEFAULT_MODEL.formationS), addBaseS: num(values['add-base'], DEFAULT_MODEL.addBaseS),
  addPerSystemS: num(values['add-per-system'], DEFAULT_MODEL.addPerSystemS),
};
const scenarios = values.scenario ? [values.scenario as Scenario] : [...SCENARIOS];
for (const s of scenarios) {
  if (!SCENARIOS.includes(s)) {
    console.error(`simulate: --scenario is one of ${SCENARIOS.join(', ')}`);
    process.exit(2);
  }
}
if (!values.json) console.error(`simulate: model ${JSON.stringify(model)} (seconds of model time; speedup = model seconds per wall second)`);
const kinds = (k: { status: number; join: number; batch: number }) => `${k.status} status, ${k.join} join, ${k.batch} batch`;
for (const scenario of scenarios) {
  const r = await runScenario(scenario, Number(values.nodes), model);
  if (values.json) console.log(JSON.stringify(r));
  else console.log(`${scenario}: ${r.done}/${r.nodes} done, ${r.addSessions} add session(s) (at most ${r.maxOpenSessions} open at once), `
    + `${r.preseeds} preseeds, ${r.modelSeconds} s model time (${r.wallSeconds} s wall), ${r.restarts} service restart(s); `
    + `max ${r.maxRequestsPerSecond} requests/s and ${r.maxRequestsPerMinute}/min on one node `
    + `(${r.busiest.node} at model second ${r.busiest.at}: ${r.busiest.status} status reads, ${r.busiest.join} join requests); `
    + `refused: ${kinds(r.refused)}; unanswered: ${kinds(r.failedRequests)}; slowest status ${r.maxStatusLatencyMs} ms `
    + `(model second ${r.slowestStatusAt}); event loop held up to ${r.maxLoopDelayMs} ms, `
    + `${r.loopDelayOk ? 'within' : 'OVER'} a tenth of the ${r.smallestPollMs / 1000} s poll at speedup ${r.speedup}`);
}
