// The service's whole life as one function of its adapters: serve status, walk the steps (or
// report done), and return the exit code systemd acts on.
import type { NodeConfig } from '../builder/render/node-config.js';
import type { CommandRunner } from '../builder/command-runner.js';
import { STEPS } from './steps/index.js';
import { DONE_MARKER, MOTD } from './steps/finish.js';
import { JOINED_MARKER } from './steps/verify.js';
import { JoinDesk } from './join/join-desk.js';
import { TicketLedger } from './join/ticket-ledger.js';
import type { AnswerSigner, Trust } from './join/join-auth.js';
import { loadJoinKey } from './join/join-key.js';
import { NODE_KEY_PATH, nodeSigner } from './join/node-identity.js';
import { siteTimeAsker } from './clock/ask-site-time.js';
import { clockSynchronised, initiatorOwnAfterMs, settleClock } from './clock/settle-clock.js';
import { CLOCK_POLL_MS } from './steps/wait-ready.js';
import { jittered, peerPollMs } from './steps/poll.js';
import { rememberingReads } from './status/read-status.js';
import { startStatusServer, type StatusServer, type StatusServerOptions } from './status/status-server.js';
import { JournalStore, type Journal } from './run/state.js';
import { walkSteps } from './run/walk-steps.js';
import { BUNDLE_DIR } from './bundle/bundle-disk.js';
import type { BundleServer } from './bundle/bundle-server.js';
import { serveKeptBundle } from './bundle/serve-kept-bundle.js';
import { FilesInFlight } from './bundle/files-in-flight.js';
import {
  ConfigurationFailure, TemporaryFailure, type BundleDisk, type Clock, type FileAccess, type Logger,
  type JoinSender, type NodeStatus, type PeerStatusReader, type ServiceInfo, type SiteTimeAsker, type Step,
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
  /** Where the status endpoint listens; defaults to the node's intra-cluster address (never every interface). */
  readonly listenHost?: string;
  /** Reported on the status endpoint as is. */
  readonly service?: ServiceInfo;
  /** Where a snap bundle is kept; the real disk's /var/lib/microcloud-pi/bundle when not given. */
  readonly bundleDisk?: BundleDisk;
  /** `build-image serve`'s sealed time; over HTTP from the node's address when not given. */
  readonly askSiteTime?: SiteTimeAsker;
}

export interface FirstBootRun {
  readonly exitCode: number;
  readonly server: StatusServer | undefined;
  status(): NodeStatus;
  /** A formed member's join desk (POST /join), when it keeps a join key and the cluster may grow (opened once the clock is synchronised). */
  readonly desk: JoinDesk | undefined;
  /** The snap bundle this node passes on to its peers (BUNDLE_PORT) when its snaps come from one: from before its install step. */
  readonly bundleServer: BundleServer | undefined;
  /** Closes every server of the run (status, bundle). */
  close(): Promise<void>;
}

/** How long the service tries to listen on its address (it may come up a moment after the service starts). */
const LISTEN_TRIES = 30;
const LISTEN_RETRY_MS = 2000;
/** A peer's status read this recently is used again (see rememberingReads): well under every poll interval. */
const PEER_READ_REUSE_MS = 1000;
/**
 * A restarted member that is not the initiator, finding no NTP server, no sealed time from serve
 * and no peer with a settled clock for this long, takes its own (the initiator may be gone for
 * good, and the desk would never open).
 */
const MEMBER_OWN_CLOCK_AFTER_MS = 10 * 60_000;
/**
 * A restarted member's clock only lags (it resumes from the time timesyncd last saved, every
 * minute or so): a source more than this behind it is refused. Minutes, not seconds: two Pis cut
 * at once resume from saves up to a minute apart and boot at their own pace, and what must not
 * happen is a step back by days (certificates made since would be "not yet valid").
 */
const NEVER_BACK_MS = 5 * 60_000;

async function listenWhenPossible(options: StatusServerOptions, clock: Clock, log: Logger): Promise<StatusServer | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStatusServer(options);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EADDRNOTAVAIL' || attempt >= LISTEN_TRIES) {
        log.warn(`status endpoint not started on ${options.host}:${options.port}: ${(error as Error).message}`);
        return undefined;
      }
      await clock.sleep(LISTEN_RETRY_MS);
    }
  }
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
  let key: Buffer | undefined; // signs statuses once known: until then peers take this node's answers as none
  let signer: AnswerSigner | undefined;
  const listenHost = deps.listenHost ?? config.address;
  // The cluster file's nodes, and the cluster's members as MicroCloud lists them (a node added later is one too).
  const peers = () => [...config.peers.map((p) => p.address), ...desk?.memberAddresses() ?? []];
  const server = await listenWhenPossible({
    host: listenHost, port: config.statusPort, key: () => signer,
    // A settled clock is given with the time of the answer: a peer without NTP takes its time from it.
    current: () => (status.clock ? { ...status, clock: { source: status.clock.source, now: new Date(clock.now()).toISOString() } } : status),
    names: [...new Set([listenHost, config.address, config.node])],
    peers,
    joinDesk: () => (desk ? (request) => desk!.handle(request) : undefined),
    revoke: () => (desk ? (body) => desk!.revoke(body) : undefined),
  }, clock, log);
  // Listening first: scrypt takes up to a second on a Pi, and the operator's status view should not wait for it.
  const loaded = await loadJoinKey(deps.files, config);
  key = loaded?.key;
  // The card's own key signs every answer beside the join key (node-identity.ts); without it peers built with an operator key take this node's answers as none.
  const nodeKey = nodeSigner(await deps.files.read(NODE_KEY_PATH), config.join.identity, config.join.operatorKey);
  if (config.join.operatorKey && !nodeKey)
    log.warn(`join: ${NODE_KEY_PATH} is missing or does not match node.json's identity: peers and the operator will not take this node's answers; rebuild its card`);
  const signWith = (joinKey: Buffer | undefined) => {
    signer = joinKey ? { joinKey, ...(nodeKey ? { node: nodeKey } : {}) } : undefined;
  };
  signWith(key);
  // Peers' statuses decide whether this node forms or joins: only those signed by the node at that address count.
  // A member also knows the cards the operator revoked (its ticket ledger): their answers are none, for the clock too.
  let revoked: Record<string, number> = {};
  const trustOf = (joinKey: Buffer): Trust => (config.join.operatorKey
    ? { joinKey, operatorKey: config.join.operatorKey, cluster: config.cluster, ...(Object.keys(revoked).length ? { revoked } : {}) } : joinKey);
  const trustedReads = rememberingReads((address, port) => deps.readPeer(address, port, key && trustOf(key)), clock, PEER_READ_REUSE_MS);
  const askSiteTime = deps.askSiteTime ?? siteTimeAsker(clock, config.address);
  if (loaded?.derivedInMs !== undefined) log.info(`join: key derived from the passphrase (scrypt) in ${(loaded.derivedInMs / 1000).toFixed(2)} s`);
  // A node whose snaps come from a bundle passes it on from before its install step (each .snap as it arrives, then the
  // kept files) until the service stops: fifty nodes then take it from each other, not all from the operator's computer.
  let bundleServer: BundleServer | undefined;
  let passingOn: Promise<void> | undefined;
  const arriving = config.snapSource?.kind === 'bundle' ? new FilesInFlight() : undefined;
  const passOnBundle = (): Promise<void> => {
    if (config.snapSource?.kind !== 'bundle') return Promise.resolve();
    passingOn ??= serveKeptBundle({ host: listenHost, dir: deps.bundleDisk?.dir ?? BUNDLE_DIR, peers, log, inFlight: arriving })
      .then((started) => { bundleServer = started; });
    return passingOn;
  };
  const close = async () => {
    await passingOn;
    await Promise.all([server?.close(), bundleServer?.close()]);
  };
  const finished = (exitCode: number): FirstBootRun => ({ exitCode, server, status: () => status, get desk() { return desk; },
    get bundleServer() { return bundleServer; }, close });
  // A member: from now on it adds nodes that ask (growing the cluster, replacing a dead Pi), once its clock is right.
  const member = async () => {
    await passOnBundle(); // a member installed its snaps long ago; a restarted one serves them again
    set({ step: 'done', state: 'done', detail: 'cluster formed', formedWith: [config.node, ...config.peers.map((p) => p.name)] });
    key = (await loadJoinKey(deps.files, config))?.key; // finish kept it; the preseed is gone
    revoked = await TicketLedger.revocations(deps.files);
    signWith(key);
    if (!config.join.grow) {
      log.info('join: microcloud.grow is false; this member adds no nodes by itself');
    } else if (key) {
      const joinKey = key;
      // A founder's cards (and its peers') have been used: none of them can add its node again.
      const founders = await deps.files.read(JOINED_MARKER) === undefined ? [config.node, ...config.peers.map((p) => p.name)] : [];
      const open = async () => {
        desk = await JoinDesk.open({ config, key: joinKey, run: deps.run, log, clock, files: deps.files, record: (fields) => set(fields), founders,
          ...(nodeKey ? { signer: nodeKey } : {}) });
      };
      // Request times are checked against the clock: the desk opens once it is settled as at the first boot (NTP, or the site's agreed time).
      if (await clockSynchronised(deps.run)) {
        set({ clock: { source: 'ntp' } });
        await open();
      } else {
        log.info('join: the join desk opens once the clock is settled (request times are checked against it)');
        void (async () => {
          const settled = await settleClock({ config, run: deps.run, log, clock, readPeer: trustedReads, askSiteTime, report: () => {} }, {
            pollMs: () => jittered(peerPollMs(config.peers.length, CLOCK_POLL_MS)),
            ownAfterMs: config.isInitiator ? initiatorOwnAfterMs(config) : MEMBER_OWN_CLOCK_AFTER_MS, neverBackMs: NEVER_BACK_MS,
          });
          if ('unsettled' in settled) return; // no timeout was given: never
          set({ clock: { source: settled.source } });
          await open();
          log.info(`join: the clock is settled (${settled.detail}); the join desk is open`);
        })().catch((error: Error) => log.warn(`join: the join desk did not open: ${error.message}`));
      }
    } else {
      log.warn('join: no join key (the key file is missing or unreadable); this member cannot add nodes');
    }
    return finished(EXIT.done);
  };

  if (await deps.files.read(DONE_MARKER) !== undefined) return member();
  const store = new JournalStore(deps.journalPath);
  const { journal, corrupt } = await store.load();
  if (corrupt) log.warn(`${deps.journalPath} was unreadable; kept as .corrupt, each step probes its own state instead`);
  await passOnBundle();
  const journalling = { save: (saved: Journal) => store.save(saved) };
  const ctx = {
    config, run: deps.run, log, clock, sendJoin: deps.sendJoin, files: deps.files, ...(key ? { joinKey: key } : {}),
    ...(deps.bundleDisk ? { bundleDisk: deps.bundleDisk } : {}), ...(arriving ? { arriving } : {}),
    readPeer: trustedReads, askSiteTime,
    report: (detail: string, state: 'running' | 'waiting' = 'running') => set({ detail, state }),
    record: (fields: Partial<Pick<NodeStatus, 'preflight' | 'joining' | 'clock'>>) => set(fields),
  };
  try {
    await walkSteps(deps.steps ?? STEPS, ctx, journalling, journal, { onStep: (step) => set({ step, state: 'running', detail: '' }) });
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
