// The service's whole life as one function of its adapters: serve status, walk the steps (or
// report done), and return the exit code systemd acts on.
import type { NodeConfig } from '../builder/render/node-config.js';
import type { CommandRunner } from '../builder/command-runner.js';
import { STEPS } from './steps/index.js';
import { DONE_MARKER, MOTD } from './steps/finish.js';
import { JOIN_KEY_PATH, JoinDesk } from './join/join-desk.js';
import { startStatusServer, type StatusServer } from './status/status-server.js';
import { JournalStore } from './run/state.js';
import { walkSteps } from './run/walk-steps.js';
import {
  ConfigurationFailure, TemporaryFailure, type Clock, type FileAccess, type Logger,
  type JoinSender, type NodeStatus, type PeerStatusReader, type ServiceInfo, type Step,
} from './run/types.js';

export const EXIT = { done: 0, internal: 1, tempfail: 75, config: 78 } as const;

export interface FirstBootDeps {
  readonly config: NodeConfig;
  readonly run: CommandRunner;
  readonly log: Logger;
  readonly clock: Clock;
  readonly files: FileAccess;
  readonly readPeer: PeerStatusReader;
  readonly sendJoin: JoinSender;
  readonly journalPath: string;
  readonly steps?: readonly Step[];
  /** Where the status endpoint listens; defaults to the node's intra-cluster address. */
  readonly listenHost?: string;
  /** Reported on the status endpoint as is. */
  readonly service?: ServiceInfo;
}

export interface FirstBootRun {
  readonly exitCode: number;
  readonly server: StatusServer | undefined;
  status(): NodeStatus;
  /** A formed member's join desk (POST /join), when it keeps a join key and the cluster may grow. */
  readonly desk: JoinDesk | undefined;
}

export async function firstBoot(deps: FirstBootDeps): Promise<FirstBootRun> {
  const { config, log, clock } = deps;
  let status: NodeStatus = { node: config.node, step: 'wait-ready', state: 'running', since: new Date(clock.now()).toISOString(),
    ...(deps.service ? { service: deps.service } : {}) };
  const set = (next: Partial<NodeStatus>) => {
    const changedStep = next.step !== undefined && next.step !== status.step;
    status = { ...status, ...next, ...(changedStep ? { since: new Date(clock.now()).toISOString() } : {}) };
  };
  let desk: JoinDesk | undefined;
  const server = await startStatusServer(deps.listenHost ?? config.address, config.statusPort, () => status,
    () => (desk ? (request) => desk!.handle(request) : undefined))
    .catch((error: Error) => {
      log.warn(`status endpoint not started: ${error.message}`);
      return undefined;
    });
  const finished = (exitCode: number) => ({ exitCode, server, status: () => status, desk });
  // A member: from now on it adds nodes that ask (growing the cluster, replacing a dead Pi).
  const member = async () => {
    set({ step: 'done', state: 'done', detail: 'cluster formed', formedWith: [config.node, ...config.peers.map((p) => p.name)] });
    const key = (await deps.files.read(JOIN_KEY_PATH))?.trim();
    if (!config.join.grow) {
      log.info('join: microcloud.grow is false; this member adds no nodes by itself');
    } else if (key && /^[0-9a-f]{64}$/.test(key)) {
      desk = new JoinDesk({ config, key: Buffer.from(key, 'hex'), run: deps.run, log, clock, record: (fields) => set(fields) });
    } else {
      log.warn(`join: ${JOIN_KEY_PATH} is missing or unreadable; this member cannot add nodes`);
    }
    return finished(EXIT.done);
  };

  if (await deps.files.read(DONE_MARKER) !== undefined) return member();
  const store = new JournalStore(deps.journalPath);
  const { journal, corrupt } = await store.load();
  if (corrupt) log.warn(`${deps.journalPath} was unreadable; kept as .corrupt, each step probes its own state instead`);
  const ctx = {
    config, run: deps.run, log, clock, readPeer: deps.readPeer, sendJoin: deps.sendJoin, files: deps.files,
    report: (detail: string, state: 'running' | 'waiting' = 'running') => set({ detail, state }),
    record: (fields: Partial<Pick<NodeStatus, 'preflight' | 'joining'>>) => set(fields),
  };
  try {
    await walkSteps(deps.steps ?? STEPS, ctx, store, journal, { onStep: (step) => set({ step, state: 'running', detail: '' }) });
    return await member();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    set({ state: 'failed', lastError: message, ...(error instanceof ConfigurationFailure ? { needsPerson: true } : {}) });
    log.warn(`step ${status.step} failed: ${message}`);
    if (error instanceof ConfigurationFailure) {
      await deps.files.write(MOTD, `microcloud-pi: first boot of ${config.node} STOPPED at step ${status.step}:\n  ${message}\n`
        + '  journalctl -u microcloud-pi-firstboot shows the details.\n', 0o644).catch(() => undefined);
      return finished(EXIT.config);
    }
    return finished(error instanceof TemporaryFailure ? EXIT.tempfail : EXIT.internal);
  }
}
