// The service's whole life as one function of its adapters: serve status, walk the steps (or
// report done), and return the exit code systemd acts on.
import type { NodeConfig } from '../../builder/render/node-config.js';
import type { CommandRunner } from '../../builder/command-runner.js';
import { STEPS } from '../steps/index.js';
import { DONE_MARKER, MOTD } from '../steps/finish.js';
import { startStatusServer, type StatusServer } from '../status/status-server.js';
import { JournalStore } from './state.js';
import { walkSteps } from './walk-steps.js';
import {
  ConfigurationFailure, TemporaryFailure, type Clock, type FileAccess, type Logger,
  type NodeStatus, type PeerStatusReader, type ServiceInfo, type Step,
} from './types.js';

export const EXIT = { done: 0, internal: 1, tempfail: 75, config: 78 } as const;

export interface FirstBootDeps {
  readonly config: NodeConfig;
  readonly run: CommandRunner;
  readonly log: Logger;
  readonly clock: Clock;
  readonly files: FileAccess;
  readonly readPeer: PeerStatusReader;
  readonly journalPath: string;
  readonly steps?: readonly Step[];
  /** Where the status endpoint listens; defaults to the node's intra-cluster address. */
  readonly listenHost?: string;
  /** Reported on the status endpoint as is. */
  readonly service?: ServiceInfo;
}

export interface FirstBootRun { readonly exitCode: number; readonly server: StatusServer | undefined; status(): NodeStatus }

export async function firstBoot(deps: FirstBootDeps): Promise<FirstBootRun> {
  const { config, log, clock } = deps;
  let status: NodeStatus = { node: config.node, step: 'wait-ready', state: 'running', since: new Date(clock.now()).toISOString(),
    ...(deps.service ? { service: deps.service } : {}) };
  const set = (next: Partial<NodeStatus>) => {
    const changedStep = next.step !== undefined && next.step !== status.step;
    status = { ...status, ...next, ...(changedStep ? { since: new Date(clock.now()).toISOString() } : {}) };
  };
  const server = await startStatusServer(deps.listenHost ?? config.address, config.statusPort, () => status)
    .catch((error: Error) => {
      log.warn(`status endpoint not started: ${error.message}`);
      return undefined;
    });
  const finished = (exitCode: number) => ({ exitCode, server, status: () => status });

  if (await deps.files.read(DONE_MARKER) !== undefined) {
    set({ step: 'done', state: 'done', detail: 'cluster formed' });
    return finished(EXIT.done);
  }
  const store = new JournalStore(deps.journalPath);
  const { journal, corrupt } = await store.load();
  if (corrupt) log.warn(`${deps.journalPath} was unreadable; kept as .corrupt, each step probes its own state instead`);
  const ctx = {
    config, run: deps.run, log, clock, readPeer: deps.readPeer, files: deps.files,
    report: (detail: string, state: 'running' | 'waiting' = 'running') => set({ detail, state }),
    record: (fields: Pick<NodeStatus, 'preflight'>) => set(fields),
  };
  try {
    await walkSteps(deps.steps ?? STEPS, ctx, store, journal, { onStep: (step) => set({ step, state: 'running', detail: '' }) });
    set({ step: 'done', state: 'done', detail: 'cluster formed' });
    return finished(EXIT.done);
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
