// npm run simulate -- --nodes 50 [--scenario NAME] [--json] [--speedup N]: runs the real
// first-boot service for N nodes on loopback (127.0.0.11 on), over real HTTP, against the test
// doubles of snapd and MicroCloud with a modelled time per action (test/simulation/harness.ts),
// and reports per scenario: nodes done, add sessions, preseeds, model seconds, the most
// requests a node served in a model second, and the slowest status answer (wall clock).
// Not a test: figures for the notes (test/simulation.test.ts runs 10 nodes in CI).
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL, runScenario, SCENARIOS, type Scenario } from '../test/simulation/harness.js';

const { values } = parseArgs({ options: {
  nodes: { type: 'string', default: '50' }, scenario: { type: 'string' }, json: { type: 'boolean', default: false },
  speedup: { type: 'string' }, 'snap-install': { type: 'string' }, formation: { type: 'string' }, 'add-base': { type: 'string' },
  'add-per-system': { type: 'string' },
} });
const num = (v: string | undefined, fallback: number) => (v === undefined ? fallback : Number(v));
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
for (const scenario of scenarios) {
  const started = Date.now();
  const result = await runScenario(scenario, Number(values.nodes), model);
  if (values.json) console.log(JSON.stringify(result));
  else console.log(`${scenario}: ${result.done}/${result.nodes} done, ${result.addSessions} add session(s), ${result.preseeds} preseeds, `
    + `${result.modelSeconds} s model time, max ${result.maxRequestsPerSecond} requests/s on one node, `
    + `(${result.busiest.node} at model second ${result.busiest.at}: ${result.busiest.status} status reads, ${result.busiest.join} join requests), `
    + `slowest status ${result.maxStatusLatencyMs} ms (model second ${result.slowestStatusAt}; the one process's event loop held up to `
    + `${result.maxLoopDelayMs} ms), ${result.restarts} service restart(s) (wall ${((Date.now() - started) / 1000).toFixed(0)} s)`);
}
