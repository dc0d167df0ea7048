// A shelf of N Pis in one process: the real first-boot service for every node, each with its
// real status server on its own loopback address (127.0.0.11 on; it never sends anywhere else)
// and its files in a folder of its own on the real disk, over real HTTP from its own address,
// against the TEST DOUBLES of snapd and MicroCloud (test/doubles/fake-host.ts; the MicroCloud one
// as strict as MicroCloud on failure) with a modelled time per action. Time runs `speedup` times
// faster than the wall clock; every figure it reports is in model time, but status latency, the
// event loop's longest hold and wallSeconds, which are on the wall clock.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { cardIdentity, planNodeConfig, type SeedOptions } from '../../builder/render/node-config.js';
import { renderPreseed } from '../../builder/render/preseed.js';
import { firstBoot, type FirstBootRun } from '../../firstboot/first-boot.js';
import { deriveJoinKey } from '../../firstboot/join/join-auth.js';
import { FakeHost, FakeMicroCloud } from '../doubles/fake-host.js';
import { clusterFromText, TEST_PASSPHRASE } from '../helpers/examples.js';
import { TEST_OPERATOR_KEY } from '../helpers/operator-key.js';
import { FOUNDERS, NEWCOMER_SPREAD_S } from './bounds.js';
import { DEAD_HOST_GIVE_UP_MS, silentListener, type DeadPi } from './dead-pi.js';
import { loopDelayOk, smallestPollMs } from './loop-rule.js';
import { modelClock } from './model-clock.js';
import { DEFAULT_MODEL, modelledRunner, type Model, type Power } from './modelled-runner.js';
import { seedNodeDisk } from './node-disk.js';
import { Traffic, type PerKind } from './traffic.js';
import { countedJoinSender, statusReaderFrom, type HoldAnswer } from './wire.js';

export { DEFAULT_MODEL, type Model } from './modelled-runner.js';

export const SCENARIOS = ['formation', 'grow-burst', 'grow-trickle', 'member-stalls', 'member-dies', 'joiner-dies', 'joiner-dies-early'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface ScenarioResult {
  readonly scenario: Scenario;
  readonly nodes: number;
  readonly speedup: number;
  readonly done: number;
  /** Add sessions opened (a failed one counts too), and the most open at one time. */
  readonly addSessions: number;
  readonly maxOpenSessions: number;
  readonly preseeds: number;
  readonly modelSeconds: number;
  readonly wallSeconds: number;
  /** The most requests that reached one node in any one model second, and in any one model minute (sliding windows). */
  readonly maxRequestsPerSecond: number;
  readonly maxRequestsPerMinute: number;
  /** Requests answered with HTTP 400 or more, and requests nothing answered (a dead Pi, a timeout), by kind. */
  readonly refused: PerKind;
  readonly failedRequests: PerKind;
  readonly maxStatusLatencyMs: number;
  /** When (model seconds from the start) the slowest status answer came. */
  readonly slowestStatusAt: number;
  /**
   * The longest the one process's event loop was held (wall ms): every node's work shares it, so
   * a status answer can wait this long behind other nodes' steps, which on a Pi run on their own CPU.
   */
  readonly maxLoopDelayMs: number;
  /** The smallest poll interval of the steps in play (model ms), and whether maxLoopDelayMs * speedup stayed within a tenth of it. */
  readonly smallestPollMs: number;
  readonly loopDelayOk: boolean;
  /** Service restarts after a failure (systemd's, modelled), over all nodes. */
  readonly restarts: number;
  /** The busiest node's busiest second: from when (model seconds from the start), and what it was asked then. */
  readonly busiest: { readonly node: string; readonly at: number; readonly status: number; readonly join: number };
}

/** Service starts per Pi in one scenario (the first and systemd's restarts): bounded, so a broken run ends. */
const SERVICE_STARTS = 20;
/** The newcomer that dies in joiner-dies (the second powered on). */
const DYING_NEWCOMER = 1;
/**
 * member-stalls: how long pi1 answers nothing in the middle of its first add (model ms). Longer
 * than the longest poll interval of a batch (jittered 10 s: 15 s), so every node polling it has
 * one request waiting when it catches up and answers them all at once.
 */
export const STALL_MS = 20_000;
/** How the event loop's hold is sampled (wall ms): the figure is at most this much over the real hold. */
const LOOP_RESOLUTION_MS = 1;
const nameOf = (i: number) => `pi${i + 1}`;
const addressOf = (i: number) => `127.0.0.${11 + i}`;
const indexOf = (name: string) => Number(name.slice(2)) - 1;

/**
 * The cluster file an operator writes, nothing more: MicroCloud's lookup and session timeouts are
 * left at their defaults (lookup_timeout 600 s, session_timeout 3600 s, builder/config/defaults.ts),
 * as most operators leave them, so the rendered preseeds carry those and the MicroCloud double
 * takes them from there: a failed batch must cost minutes with MicroCloud's hour in place.
 */
function clusterOf(nodes: number, port: number) {
  return clusterFromText(stringify({
    cluster: { name: 'sim', domain: 'sim.internal' },
    admin: { user: 'ops', ssh_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@laptop'] },
    network: { subnet: '127.0.0.0/24', gateway: '127.0.0.1', dns: ['127.0.0.1'] },
    nodes: Array.from({ length: nodes }, (_, i) => ({ name: nameOf(i), address: addressOf(i) })),
    microcloud: { status_port: port },
  }));
}

/** One simulated Pi: its power, its doubles, its service's last run, and, once dead, what stands at its address. */
interface SimNode {
  readonly power: Power;
  readonly host: FakeHost;
  run?: FirstBootRun;
  dead?: DeadPi;
}

export async function runScenario(scenario: Scenario, nodes: number, model: Model = DEFAULT_MODEL, port = 30000 + Math.floor(Math.random() * 20000)):
  Promise<ScenarioResult> {
  if (nodes < FOUNDERS + 2 || nodes > 200) throw new Error(`--nodes takes ${FOUNDERS + 2} to 200`);
  const wallStart = performance.now();
  const grows = scenario !== 'formation';
  const founders = grows ? FOUNDERS : nodes;
  // Before model time starts: each cluster file checked and rendered once (tens of ms each, which would hold
  // the one event loop while other nodes' timers wait), the join key derived once, and every node's disk seeded.
  const dir = await mkdtemp(join(tmpdir(), 'mcpi-sim-'));
  const joinKey = await deriveJoinKey(TEST_PASSPHRASE, 'sim'); // see node-disk.ts
  // Cards built as a build makes them by default (an operator key in the secrets file): a ticket and an identity
  // each, so every answer is signed by its node's own key and every join request carries its ticket.
  const seed: SeedOptions = { ticket: { operatorKey: TEST_OPERATOR_KEY, issuedMs: Date.now() - 60_000 } };
  const files = new Map([founders, nodes].map((size) => {
    const cluster = clusterOf(size, port);
    return [size, { cluster, preseed: renderPreseed(cluster, TEST_PASSPHRASE) }] as const;
  }));
  const fileSizeOf = (i: number) => (i < founders ? founders : nodes);
  const disks = await Promise.all(Array.from({ length: nodes }, (_, i) => {
    const file = files.get(fileSizeOf(i))!;
    return seedNodeDisk(join(dir, nameOf(i)), planNodeConfig(file.cluster, nameOf(i), seed).preseedPath, file.preseed, joinKey,
      cardIdentity(file.cluster, nameOf(i), seed.ticket!).privateKey);
  }));
  const clock = modelClock(model.speedup);
  const traffic = new Traffic(clock);
  const cloud = new FakeMicroCloud(Array.from({ length: founders }, (_, i) => nameOf(i)), nameOf(0), undefined,
    { clock, addMs: (systems) => (model.addBaseS + model.addPerSystemS * systems) * 1000 });
  const sim: SimNode[] = [];
  let restarts = 0;
  let over = false;
  let stall: { address: string; from: number; until: number } | undefined;
  const shutdown = new AbortController(); // at the end: every node's commands stop, so nothing of the run outlives it
  // A stalled node answers what reached it during the stall when the stall ends, all at once.
  const hold: HoldAnswer = async (address, sentAt) => {
    if (stall && stall.address === address && sentAt >= stall.from && sentAt < stall.until && stall.until > clock.elapsed())
      await clock.sleep(stall.until - clock.elapsed());
  };

  /** The Pi loses power: MicroCloud ends its sessions, nothing answers at its address any more (a connection hangs, then fails). */
  async function powerOff(i: number): Promise<void> {
    const node = sim[i]!;
    node.power.on = false;
    cloud.cutPower(nameOf(i));
    if (cloud.members.includes(nameOf(i))) cloud.offline.add(nameOf(i));
    if (node.dead) return;
    await node.run?.server?.close();
    node.dead = await silentListener(addressOf(i), port, DEAD_HOST_GIVE_UP_MS / model.speedup);
  }

  /**
   * One Pi: the service runs, and, like systemd (Restart=on-failure, RestartSec=30,
   * RestartPreventExitStatus=78), starts again 30 model seconds after a failure that is not a
   * configuration problem, with its files and journal kept. A Pi that died is not restarted.
   */
  async function start(i: number, death?: 'at-preseed' | 'after-reaching-out'): Promise<FirstBootRun | undefined> {
    const config = planNodeConfig(files.get(fileSizeOf(i))!.cluster, nameOf(i), seed);
    const disk = disks[i]!;
    const node: SimNode = { power: { on: true, diesAtPreseed: death === 'at-preseed' }, host: new FakeHost(nameOf(i), addressOf(i), cloud) };
    node.host.files = disk.files; // its MicroCloud certificate goes where the node reads it
    sim[i] = node;
    if (death === 'after-reaching-out') cloud.diesAfterReachingOut.add(nameOf(i));
    const run = modelledRunner(node.host, model, clock, node.power, shutdown.signal);
    const readPeer = statusReaderFrom(addressOf(i), traffic, hold);
    const sendJoin = countedJoinSender(traffic, hold);
    for (let attempt = 1; ; attempt++) {
      const result = await firstBoot({ config, run, log: logOf(nameOf(i)), clock, files: disk.files, readPeer, sendJoin,
        journalPath: disk.journalPath, listenHost: config.address }).catch(() => undefined);
      if (result) node.run = result;
      if (!node.power.on) {
        await powerOff(i); // its service ended with it: nothing more of it runs
        return result;
      }
      if ((result && result.exitCode === 0) || result?.exitCode === 78 || attempt >= SERVICE_STARTS) return result;
      restarts++;
      await result?.server?.close(); // the process exits: its endpoint goes with it
      await clock.sleep(30_000);
    }
  }

  // MCPI_SIM_LOG=1: every node's service log on stderr, stamped with model seconds (to see why a scenario went as it did).
  const logOf = (node: string) => {
    const line = (level: string) => process.env.MCPI_SIM_LOG
      ? (text: string) => process.stderr.write(`${Math.round(clock.elapsed() / 1000)} ${node} ${level} ${text}\n`) : () => {};
    return { info: line('info'), warn: line('warn') };
  };

  /**
   * Resolves once pi1's first add session is under way: every machine of it reached out (each ran
   * its `microcloud preseed`) and the add itself runs (for minutes from then). False if the run ended first.
   */
  async function firstAddUnderWay(): Promise<boolean> {
    const preseeds = () => sim[0]?.host.calls.filter((c) => c.file === 'microcloud' && c.args[0] === 'preseed') ?? [];
    while (!over && preseeds().length < 2) await clock.sleep(1000); // the formation, then its first add session opening
    const add = preseeds()[1];
    if (!add) return false;
    const systems = ((parse(add.input ?? '') as { systems?: { name: string }[] }).systems ?? []).map((s) => s.name);
    const reachedOut = (name: string) => sim[indexOf(name)]?.host.calls.some((c) => c.file === 'microcloud' && c.args[0] === 'preseed') ?? false;
    while (!over && !systems.every(reachedOut)) await clock.sleep(1000);
    await clock.sleep(10_000); // the initiator saw them all (it looks every second)
    return !over;
  }

  /** member-dies: pi1 loses power mid-add; the session fails and MicroCloud never tells its joiners. */
  async function killFirstMemberMidAdd(): Promise<void> {
    if (await firstAddUnderWay()) await powerOff(0);
  }

  /**
   * member-stalls: pi1, busy with its first add (LXD, MicroCeph and MicroOVN joining the new
   * machines on a Pi's CPU and card), leaves its endpoint unanswered for STALL_MS, then answers
   * everything that came meanwhile at once: the nodes waiting on it hear back in the same moment.
   * A minute into the add: by then every newcomer has asked (the last is powered on two minutes
   * after the first, and the add opened a minute after the first asked), and the add runs on.
   */
  async function stallFirstMemberMidAdd(): Promise<void> {
    if (!(await firstAddUnderWay())) return;
    await clock.sleep(60_000);
    if (!over) stall = { address: addressOf(0), from: clock.elapsed(), until: clock.elapsed() + STALL_MS };
  }

  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  const began = clock.now();
  const finished: Promise<FirstBootRun | undefined>[] = [];
  let killer: Promise<void> = Promise.resolve();
  try {
    if (!grows) {
      for (let i = 0; i < nodes; i++) finished.push(start(i));
    } else {
      await Promise.all(Array.from({ length: FOUNDERS }, (_, i) => start(i)));
      const newcomers = Array.from({ length: nodes - FOUNDERS }, (_, k) => FOUNDERS + k);
      // Spread over two minutes in a shuffled order (47 is prime to 120; 7919 was -1 modulo 120: one node, then all the rest 95 s later).
      const startAt = (k: number) => (scenario === 'grow-trickle' ? k * 60_000 : ((k * 47) % NEWCOMER_SPREAD_S) * 1000);
      const deathOf = (k: number) => (k !== DYING_NEWCOMER ? undefined
        : scenario === 'joiner-dies' ? 'after-reaching-out' as const : scenario === 'joiner-dies-early' ? 'at-preseed' as const : undefined);
      const t0 = clock.now();
      for (const [k, i] of newcomers.entries()) {
        finished.push((async () => {
          await clock.sleep(Math.max(0, t0 + startAt(k) - clock.now()));
          return start(i, deathOf(k));
        })());
      }
      if (scenario === 'member-dies') killer = killFirstMemberMidAdd();
      if (scenario === 'member-stalls') killer = stallFirstMemberMidAdd();
    }
    await Promise.all(finished);
    over = true;
    await killer;
    const ended = clock.now();
    loop.disable();
    const maxLoopDelayMs = Math.round(loop.max / 1e5) / 10;
    const smallestPoll = smallestPollMs(grows ? [FOUNDERS - 1, nodes - 1] : [nodes - 1]);
    const busiest = traffic.busiestOver(1000);
    return {
      scenario, nodes, speedup: model.speedup,
      done: sim.filter((n) => n.run?.exitCode === 0).length, addSessions: cloud.sessionsOpened, maxOpenSessions: cloud.maxOpenSessions,
      preseeds: sim.reduce((n, s) => n + s.host.calls.filter((c) => c.file === 'microcloud' && c.args[0] === 'preseed').length, 0),
      modelSeconds: Math.round((ended - began) / 1000), wallSeconds: Math.round((performance.now() - wallStart) / 1000),
      maxRequestsPerSecond: busiest.total, maxRequestsPerMinute: traffic.busiestOver(60_000).total,
      refused: traffic.refused, failedRequests: traffic.failed,
      maxStatusLatencyMs: Math.round(traffic.maxStatusLatencyMs), slowestStatusAt: Math.round(traffic.slowestAt / 1000),
      maxLoopDelayMs, smallestPollMs: smallestPoll, loopDelayOk: loopDelayOk(maxLoopDelayMs, model.speedup, smallestPoll), restarts,
      busiest: { node: busiest.address ? nameOf(Number(busiest.address.split('.')[3]) - 11) : '', at: busiest.at,
        status: busiest.status, join: busiest.join },
    };
  } finally {
    over = true;
    shutdown.abort();
    loop.disable();
    await Promise.all(sim.map((n) => Promise.all([n?.run?.server?.close(), n?.dead?.close()])));
    // A desk's ledger write that was under way at the shutdown may still land in a node's folder while it is removed (ENOTEMPTY): retried.
    await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}
