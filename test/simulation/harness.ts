// A shelf of N Pis in one process: the real first-boot service for every node, each with its
// real status server on its own loopback address (127.0.0.11 on; it never sends anywhere else),
// over real HTTP, against the TEST DOUBLES of snapd and MicroCloud (test/doubles/fake-host.ts)
// with a modelled time per action. Time runs `speedup` times faster than the wall clock; every
// figure it reports is in model time, but status latency, which is measured on the wall clock.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { CommandRunner } from '../../builder/command-runner.js';
import { planNodeConfig } from '../../builder/render/node-config.js';
import { renderPreseed } from '../../builder/render/preseed.js';
import { firstBoot, type FirstBootRun } from '../../firstboot/first-boot.js';
import { sendJoin } from '../../firstboot/join/send-join.js';
import type { Clock, JoinSender, PeerStatusReader } from '../../firstboot/run/types.js';
import { readStatus } from '../../firstboot/status/read-status.js';
import { FakeFiles, FakeHost, FakeMicroCloud } from '../doubles/fake-host.js';
import { clusterFromText, TEST_PASSPHRASE } from '../helpers/examples.js';

/** Seconds of model time each action of the doubles takes. */
export interface Model {
  readonly snapInstallS: number;
  readonly formationS: number;
  /** An add session: a base, and more per new machine (each joins LXD, Ceph and OVN). */
  readonly addBaseS: number;
  readonly addPerSystemS: number;
  /** Model seconds per wall-clock second. */
  readonly speedup: number;
}

export const DEFAULT_MODEL: Model = { snapInstallS: 60, formationS: 180, addBaseS: 120, addPerSystemS: 20, speedup: 20 };

export const SCENARIOS = ['formation', 'grow-burst', 'grow-trickle', 'member-dies', 'joiner-dies'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface ScenarioResult {
  readonly scenario: Scenario;
  readonly nodes: number;
  readonly done: number;
  /** Add sessions opened (a failed one counts too). */
  readonly addSessions: number;
  readonly preseeds: number;
  readonly modelSeconds: number;
  readonly maxRequestsPerSecond: number;
  readonly maxStatusLatencyMs: number;
  /** When (model seconds from the start) the slowest status answer came. */
  readonly slowestStatusAt: number;
  /**
   * The longest the one process's event loop was held (wall ms): every node's work shares it, so
   * a status answer can wait this long behind other nodes' steps, which on a Pi run on their own CPU.
   */
  readonly maxLoopDelayMs: number;
  /** Service restarts after a failure (systemd's, modelled), over all nodes. */
  readonly restarts: number;
  /** The busiest node's busiest model second: what it served then. */
  readonly busiest: { readonly node: string; readonly at: number; readonly status: number; readonly join: number };
}

const FOUNDERS = 3;
/** Service starts per Pi in one scenario (the first and systemd's restarts): bounded, so a broken run ends. */
const SERVICE_STARTS = 20;
const nameOf = (i: number) => `pi${i + 1}`;
const addressOf = (i: number) => `127.0.0.${11 + i}`;

function clusterOf(nodes: number, port: number) {
  return clusterFromText(stringify({
    cluster: { name: 'sim', domain: 'sim.internal' },
    admin: { user: 'ops', ssh_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@laptop'] },
    network: { subnet: '127.0.0.0/24', gateway: '127.0.0.1', dns: ['127.0.0.1'] },
    nodes: Array.from({ length: nodes }, (_, i) => ({ name: nameOf(i), address: addressOf(i) })),
    microcloud: { status_port: port },
  }));
}

/** Requests each node served, by model second and kind; and the slowest status answer seen. */
class Traffic {
  private readonly served = new Map<string, Map<number, { status: number; join: number }>>();
  maxStatusLatencyMs = 0;
  slowestAt = 0;
  constructor(private readonly clock: Clock) {}
  count(address: string, kind: 'status' | 'join'): void {
    const second = Math.floor(this.clock.now() / 1000);
    const perSecond = this.served.get(address) ?? new Map<number, { status: number; join: number }>();
    const seen = perSecond.get(second) ?? { status: 0, join: 0 };
    seen[kind]++;
    perSecond.set(second, seen);
    this.served.set(address, perSecond);
  }
  get busiest(): { address: string; second: number; status: number; join: number } {
    let top = { address: '', second: 0, status: 0, join: 0 };
    for (const [address, perSecond] of this.served)
      for (const [second, seen] of perSecond) if (seen.status + seen.join > top.status + top.join) top = { address, second, ...seen };
    return top;
  }
  get maxRequestsPerSecond(): number {
    const { status, join } = this.busiest;
    return status + join;
  }
}

export async function runScenario(scenario: Scenario, nodes: number, model: Model = DEFAULT_MODEL, port = 30000 + Math.floor(Math.random() * 20000)):
  Promise<ScenarioResult> {
  if (nodes < FOUNDERS + 1 || nodes > 200) throw new Error(`--nodes takes ${FOUNDERS + 1} to 200`);
  const epoch = Date.now();
  const clock: Clock = { now: () => epoch + (Date.now() - epoch) * model.speedup,
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.max(1, ms / model.speedup))) };
  const traffic = new Traffic(clock);
  const grows = scenario !== 'formation';
  const founders = grows ? FOUNDERS : nodes;
  // A side that waits for the other gives up after MicroCloud's lookup timeout (600 s), in model time.
  const cloud = new FakeMicroCloud(Array.from({ length: founders }, (_, i) => nameOf(i)), nameOf(0), (600 * 1000) / model.speedup);
  const dir = await mkdtemp(join(tmpdir(), 'mcpi-sim-'));
  const runs: FirstBootRun[] = [];
  const hosts: FakeHost[] = [];
  let restarts = 0;

  // A request counts against the node that served it (a dead node's address serves nothing).
  const readPeer: PeerStatusReader = async (address, p, key) => {
    const started = performance.now();
    const status = await readStatus(address, p, key);
    if (status) {
      traffic.count(address, 'status');
      const latency = performance.now() - started;
      if (latency > traffic.maxStatusLatencyMs) {
        traffic.maxStatusLatencyMs = latency;
        traffic.slowestAt = clock.now() - epoch;
      }
    }
    return status;
  };
  const countedSend: JoinSender = async (address, ...rest) => {
    const reply = await sendJoin(address, ...rest);
    if (reply) traffic.count(address, 'join');
    return reply;
  };

  /**
   * The doubles take their modelled time: a snap install before it returns; a formation or an add
   * session after the machines have met (the double pairs them at once), on every side of it.
   */
  const modelled = (host: FakeHost): CommandRunner => async (file, args, options) => {
    if (file === 'snap' && args[0] === 'install') await clock.sleep(model.snapInstallS * 1000);
    const ran = await host.run(file, args, options);
    if (file === 'microcloud' && args[0] === 'preseed' && options?.input && ran.exitCode === 0) {
      const initiator = /^initiator: "(.*)"$/m.exec(options.input)?.[1];
      const systems = (options.input.match(/^ {2}- name: /gm) ?? []).length;
      const adding = initiator !== undefined && !new RegExp(`^  - name: "${initiator}"$`, 'm').test(options.input);
      await clock.sleep((adding ? model.addBaseS + model.addPerSystemS * systems : model.formationS) * 1000);
    }
    return ran;
  };

  /**
   * One Pi: the service runs, and, like systemd (Restart=on-failure, RestartSec=30,
   * RestartPreventExitStatus=78), starts again 30 model seconds after a failure that is not a
   * configuration problem, with its files and journal kept. A Pi that dies is not restarted.
   */
  async function start(i: number, fileNodes: number, dies = false): Promise<FirstBootRun> {
    const c = clusterOf(fileNodes, port);
    const config = planNodeConfig(c, nameOf(i));
    const files = new FakeFiles();
    await files.write(config.preseedPath, renderPreseed(c, TEST_PASSPHRASE), 0o600);
    const host = new FakeHost(nameOf(i), addressOf(i), cloud);
    hosts[i] = host;
    let died = false;
    const run: CommandRunner = dies
      ? async (file, args, options) => {
        if (file === 'microcloud' && args[0] === 'preseed') {
          died = true;
          throw new Error('power cut: this Pi died as its add session opened');
        }
        return modelled(host)(file, args, options);
      }
      : modelled(host);
    for (let attempt = 1; ; attempt++) {
      const result = await firstBoot({ config, run, log: logOf(nameOf(i)), clock, files, readPeer, sendJoin: countedSend,
        journalPath: join(dir, `${nameOf(i)}.json`), listenHost: config.address }).catch(() => undefined);
      if (result) runs[i] = result;
      const failed = !result || result.exitCode !== 0;
      if (!failed || result?.exitCode === 78 || died || attempt >= SERVICE_STARTS) {
        return result ?? { exitCode: 1, server: undefined, status: () => ({ node: nameOf(i), step: 'wait-ready', state: 'failed', since: '' }), desk: undefined };
      }
      restarts++;
      await result?.server?.close(); // the process exits: its endpoint goes with it
      await clock.sleep(30_000);
    }
  }

  // MCPI_SIM_LOG=1: every node's service log on stderr, stamped with model seconds (to see why a scenario went as it did).
  const logOf = (node: string) => {
    const line = (level: string) => process.env.MCPI_SIM_LOG
      ? (text: string) => process.stderr.write(`${Math.round((clock.now() - epoch) / 1000)} ${node} ${level} ${text}\n`) : () => {};
    return { info: line('info'), warn: line('warn') };
  };
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const began = clock.now();
  const finished: Promise<FirstBootRun>[] = [];
  try {
    if (!grows) {
      for (let i = 0; i < nodes; i++) finished.push(start(i, nodes));
    } else {
      const formed = await Promise.all(Array.from({ length: FOUNDERS }, (_, i) => start(i, FOUNDERS)));
      finished.push(...formed.map(async (r) => r));
      const newcomers = Array.from({ length: nodes - FOUNDERS }, (_, k) => FOUNDERS + k);
      const startAt = (k: number) => (scenario === 'grow-trickle' ? k * 60_000 : Math.floor(((k * 7919) % 120) * 1000)); // spread over two minutes
      const t0 = clock.now();
      for (const [k, i] of newcomers.entries()) {
        finished.push((async () => {
          await clock.sleep(Math.max(0, t0 + startAt(k) - clock.now()));
          return start(i, nodes, scenario === 'joiner-dies' && k === 1);
        })());
      }
      if (scenario === 'member-dies') void killFirstMemberMidAdd();
    }
    const results = await Promise.all(finished);
    const ended = clock.now();
    loop.disable();
    return {
      scenario, nodes, done: results.filter((r) => r.exitCode === 0).length, addSessions: cloud.sessionsOpened,
      preseeds: hosts.reduce((n, h) => n + (h?.calls.filter((c) => c.file === 'microcloud' && c.args[0] === 'preseed').length ?? 0), 0),
      modelSeconds: Math.round((ended - began) / 1000), maxRequestsPerSecond: traffic.maxRequestsPerSecond,
      maxStatusLatencyMs: Math.round(traffic.maxStatusLatencyMs), slowestStatusAt: Math.round(traffic.slowestAt / 1000),
      maxLoopDelayMs: Math.round(loop.max / 1e6), restarts,
      busiest: (({ address, second, status, join }) => ({ node: address ? nameOf(Number(address.split('.')[3]) - 11) : '',
        at: second - Math.floor(epoch / 1000), status, join }))(traffic.busiest),
    };
  } finally {
    await Promise.all(runs.map((r) => r?.server?.close()));
    await rm(dir, { recursive: true, force: true });
  }

  /** pi1 loses power while its first add session is open: the session fails, its endpoint goes, MicroCloud marks it unreachable. */
  async function killFirstMemberMidAdd(): Promise<void> {
    const preseeds = () => hosts[0]?.calls.filter((c) => c.file === 'microcloud' && c.args[0] === 'preseed').length ?? 0;
    while (preseeds() < 2) await clock.sleep(1000); // the formation, then its first add session opening

    cloud.cutPower(nameOf(0));
    cloud.offline.add(nameOf(0));
    await runs[0]?.server?.close();
  }
}
