// The contract every first-boot step follows, and what steps are given to work with.
import type { NodeConfig } from '../../builder/render/node-config.js';

import type { CommandRunner } from '../../builder/command-runner.js';
import type { PreflightOutcome } from '../preflight/check-node.js';
import type { Hash } from 'node:crypto';

export interface Logger { info(line: string): void; warn(line: string): void }

export interface Clock { now(): number; sleep(ms: number): Promise<void> }

/** Asks `build-image serve` for the site's time, taken only when the operator sealed it (clock/ask-site-time.ts). */
export type SiteTimeAsker = (server: { readonly address: string; readonly port: number }, trust: { operatorKey: string; cluster: string })
  => Promise<{ ok: true; now: number } | { ok: false; reason: string }>;

/** Where a node's clock was settled from (clock/settle-clock.ts). */
export type ClockSource = 'ntp' | 'serve' | 'initiator' | 'peer' | 'own';

/** What a node tells its peers and the operator: never a secret. */
export interface NodeStatus {
  node: string;
  step: StepId | 'done';
  state: 'running' | 'waiting' | 'failed' | 'done';
  since: string;
  detail?: string;
  lastError?: string;
  /** Which process answers: lets an operator (and the boot test) see the runtime and the boot. */
  service?: ServiceInfo;
  /** Failed in a way only a person can fix (exit 78, no restart). */
  needsPerson?: boolean;
  /** This boot's preflight verdict, once it ran (a node past wait-peers passed it earlier). */
  preflight?: PreflightOutcome;
  /** A new node joining the formed cluster through a member, or taking over a dead member's name. */
  joining?: { via: string; replacing: boolean };
  /** A formed member's add session now, and the nodes it has added since it started. */
  adding?: { node: string; replacing: boolean; since: string };
  added?: string[];
  /** The last authentic join request this member turned down, and why (a name still taken, say). */
  refused?: { node: string; reason: string; at: string };
  /**
   * The last few such refusals, newest last: kept here because the journal's refusal lines are
   * rate-limited, and junk requests from anyone could push an authentic one out of them.
   */
  refusals?: { node: string; reason: string; at: string }[];
  /**
   * Once this node's clock is settled: from where, and the time as it answered (signed with the
   * rest): a peer without NTP takes it from here.
   */
  clock?: { source: ClockSource; now?: string };
  /** A formed member: the nodes of the cluster file it was built from (a node not among them joins later). */
  formedWith?: string[];
}

export interface ServiceInfo {
  /** The node binary running the service, and its version. */
  readonly runtime: string;
  readonly nodeVersion: string;
  /** Started by systemd (it sets INVOCATION_ID for every service it starts). */
  readonly underSystemd: boolean;
  /** /proc/sys/kernel/random/boot_id: changes on every boot. */
  readonly bootId?: string;
  /** The OS host name: cloud-init sets it to the node's name; anything else means the seed was not applied. */
  readonly hostname?: string;
}

/**
 * Reads a node's status; with the cluster's join key, only a status signed for this read counts
 * (undefined otherwise, as for a node that does not answer).
 */
export type PeerStatusReader = (address: string, port: number, trust?: Trust) => Promise<NodeStatus | undefined>;

/**
 * A member's answer to a join request: 202 when its add session is open, otherwise why not, and
 * whether only a person can change that (`final`: the joiner stops) or asking again may help.
 */
export interface JoinAnswer {
  readonly status: number;
  readonly reason?: string;
  readonly final?: boolean;
  /** 202: the batch this node is gathered into; 200: the batch's add session is open, and this is its plan (checked by the joiner). */
  readonly batch?: string;
  readonly plan?: unknown;
  /** 200: the session's secret sealed to the asking node (session-secret.ts). */
  readonly sealed?: string;
  /** The X25519 key of the member that signed the answer, from its identity (to open `sealed`). */
  readonly memberDh?: string;
  /** A failed batch: its nodes that MicroCloud had partly joined, which the member removed again (each resets itself). */
  readonly removed?: readonly string[];
  /** On the member's side: the request's signature held, so the answer may be signed. */
  readonly verified?: boolean;
}

/**
 * Whose answers a reader acts on. With only the join key: any card of this cluster. With the
 * operator's public key as well (every card built with one): only the node the operator sealed
 * an identity for at the address that was asked, signed with that node's own key (join-auth.ts answerSignedBy).
 */
export interface AnswerTrust {
  readonly joinKey: Buffer;
  readonly operatorKey?: string;
  readonly cluster: string;
  /** Node -> identities of it issued at or before this time (ms) are revoked: their answers are none (the operator's record). */
  readonly revoked?: Readonly<Record<string, number>>;
}
export type Trust = Buffer | AnswerTrust;

/** The signature headers of an answer, as they came. */
export interface AnswerSignatures { readonly signature?: string; readonly identity?: string; readonly nodeSignature?: string }

/** What came back over HTTP, before anyone trusts it: the status, the body, the signature header. */
export interface HttpReply extends AnswerSignatures { readonly status: number; readonly body: string }

/** POSTs a signed join request to `path` on a member (from this node's address); undefined when it does not answer. */
export type JoinSender = (address: string, port: number, path: string, headers: Readonly<Record<string, string>>, body: string, from?: string)
  => Promise<HttpReply | undefined>;

export interface StepContext {
  readonly config: NodeConfig;
  readonly run: CommandRunner;
  readonly log: Logger;
  readonly clock: Clock;
  readonly readPeer: PeerStatusReader;
  readonly sendJoin: JoinSender;
  readonly files: FileAccess;
  /** `build-image serve`'s sealed time: an offline site's clock. Over HTTP from the node's address when not given (clock/ask-site-time.ts). */
  readonly askSiteTime?: SiteTimeAsker;
  /** The cluster's join key (derived from the passphrase once per start), when this node has it. */
  readonly joinKey?: Buffer;
  /** Where a snap bundle is kept (microcloud.snaps.source: bundle); /var/lib/microcloud-pi/bundle when not given. */
  readonly bundleDisk?: BundleDisk;
  /** Where a USB stick with the bundle is mounted while the node takes it; /run/microcloud-pi/stick when not given. */
  readonly stickMount?: string;
  /** Tells this node's bundle server which .snap files are arriving, to pass them on as they come (bundle/files-in-flight.ts). */
  readonly arriving?: ArrivingFiles;
  /** Tell peers and the operator what this step is doing or waiting for. */
  report(detail: string, state?: 'running' | 'waiting'): void;
  /** Publish a finding on the status endpoint beside the step. */
  record(fields: Partial<Pick<NodeStatus, 'preflight' | 'joining' | 'clock'>>): void;
}

export interface FileAccess {
  read(path: string): Promise<string | undefined>;
  /** Whole, through a temporary name of its own and a rename: a reader sees the old file or the new one. */
  write(path: string, content: string, mode: number): Promise<void>;
  /** Adds to the end (creating the file with `mode`), synced before it resolves. */
  append(path: string, content: string, mode: number): Promise<void>;
  remove(path: string): Promise<void>;
  /** Regular files under `dir`, recursively, without following symbolic links; [] when it is missing. */
  list(dir: string): Promise<string[]>;
  readBytes(path: string): Promise<Buffer | undefined>;
  /** Rewrites a file in place (same name, owner and mode): for scrubbing copies made by other programs. */
  overwrite(path: string, content: Buffer): Promise<void>;
}

export const STEP_IDS = ['wait-ready', 'scrub-secret', 'install-snaps', 'preflight', 'wait-peers', 'preseed', 'verify', 'finish'] as const;
export type StepId = (typeof STEP_IDS)[number];

export interface Step {
  readonly id: StepId;
  /** A precondition of this boot rather than an effect: checked again on every start, journal or not. */
  readonly everyBoot?: boolean;
  /** Probes the world: true when the step's effect is already there (after a power cut, say). */
  isDone(ctx: StepContext): Promise<boolean>;
  run(ctx: StepContext): Promise<void>;
}

/** Worth retrying later (network down, peers late, store slow): systemd restarts us (exit 75). */
export class TemporaryFailure extends Error {
  override name = 'TemporaryFailure';
}

/** Needs a person (preseed rejected, cluster half-formed): no restart (exit 78), shown at login. */
export class ConfigurationFailure extends Error {
  override name = 'ConfigurationFailure';
}

// Where a node keeps a snap bundle's files (bundle/bundle-disk.ts: the real disk; tests give a folder).
/** The .snap files a fetch is writing now and how far each has come (a node's server passes them on as they arrive). */
export interface ArrivingFiles {
  /** `fresh`: from its first byte; else it continues the bytes already there. */
  start(file: string, size: number, bytes: number, fresh: boolean): void;
  grew(file: string, bytes: number): void;
  /** Checked and renamed into place. */
  done(file: string): void;
  /** Deleted or given up: what was passed on may not be its bytes. */
  drop(file: string): void;
  names(): string[];
}

export interface BundleWriter { write(chunk: Buffer): Promise<void>; close(): Promise<void> }

export interface BundleDisk {
  /** The folder snapd is given the files in (`snap ack DIR/NAME_REV.assert`, `snap install DIR/NAME_REV.snap`). */
  readonly dir: string;
  /** Bytes in a file, or undefined when there is none. */
  size(name: string): Promise<number | undefined>;
  readText(name: string): Promise<string | undefined>;
  /** A hash seeded with a file's bytes: what a resumed download continues from. */
  hashOf(name: string, algorithm: string): Promise<Hash>;
  /** Appends (or starts afresh); each chunk is written before the next is taken, and close() syncs. */
  writer(name: string, fresh: boolean): Promise<BundleWriter>;
  /** Whole, synced, then renamed over `name`. */
  writeWhole(name: string, content: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  remove(name: string): Promise<void>;
}
