// A Pi has no real-time clock: it starts from the last time it saved, or from the image's. Join
// requests, tickets and the nonce ledger are checked against the clock, MicroCloud and its
// services make certificates valid from "now", and Ceph wants its monitors' clocks to agree. So
// before a node installs or forms, and before a member opens its join desk, the clock is settled:
//
//   1. never before the card was built: the identity the operator sealed carries the build time;
//   2. NTP when a server answers (timesyncd; the cluster file's network.ntp);
//   3. without NTP for NTP_GRACE_MS, one root for the whole site: the initiator. It takes the time
//      `build-image serve` gives, sealed with the operator's key for this request (an offline
//      site's laptop), asking for SERVE_WAIT_MS more before it takes its own clock. Every other
//      node takes the initiator's time from its signed status, and waits while the initiator
//      answers unsettled; only while the initiator does not answer at all does it take serve's
//      time, or the time on which at least two peers that settled agree (one card alone cannot
//      move a node's clock).
//
// Every node of an offline site so takes its time from one place and the cluster agrees, to a few
// milliseconds of the network; a later NTP server moves all of them to the real time (README).
import type { NodeConfig } from '../../builder/render/node-config.js';
import type { CommandRunner } from '../../builder/command-runner.js';
import { readIdentity } from '../join/node-identity.js';
import type { Clock, ClockSource, Logger, NodeStatus, PeerStatusReader, SiteTimeAsker } from '../run/types.js';

/** How long NTP alone is waited for before the site's own sources are asked (timesyncd tries about every 30 s). */
export const NTP_GRACE_MS = 90_000;
/** How much longer the initiator of a bundle cluster asks `serve` before it takes its own clock (the laptop may start late). */
export const SERVE_WAIT_MS = 3 * 60_000;
/** Peers' times that agree within this are one time. */
const AGREE_MS = 10_000;
/** A clock this close to a source's is left alone: setting it costs a step in time for nothing. */
const CLOSE_ENOUGH_MS = 500;

/** What of node.json says when the card was built: the operator's public key and the identity it sealed. */
export interface CardTime { readonly join: Pick<NodeConfig['join'], 'operatorKey' | 'identity'> }

export interface ClockSettling {
  readonly config: Pick<NodeConfig, 'cluster' | 'node' | 'isInitiator' | 'initiator' | 'peers' | 'statusPort' | 'snapSource'> & CardTime;
  readonly run: CommandRunner;
  readonly log: Logger;
  readonly clock: Clock;
  /** A peer's status, signed for a fresh nonce (first-boot's reader), or undefined. */
  readonly readPeer: PeerStatusReader;
  /** `build-image serve`'s sealed time (ask-site-time.ts). */
  readonly askSiteTime: SiteTimeAsker;
  report(detail: string, state: 'waiting'): void;
}

export interface SettleOptions {
  /** Between two looks at NTP and the sources (the caller scales it with the cluster's size and jitters it). */
  readonly pollMs: () => number;
  /** This node may take its own clock once no source answered for this long (the initiator: initiatorOwnAfterMs). */
  readonly ownAfterMs?: number;
  /** Gives up (Unsettled) after this long; waits for good without it. */
  readonly timeoutMs?: number;
  /**
   * A restarted member: never step the clock back by more than this. After a power cut the clock
   * resumes from the last time saved, so it only lags; a source that is behind it is wrong.
   */
  readonly neverBackMs?: number;
}

export interface SettledClock { readonly source: ClockSource; readonly detail: string }
/** No source in time; `behind`: a source whose time was before the card's build (the site's clock lags the real one). */
export interface Unsettled { readonly unsettled: true; readonly behind?: string }

/** When the initiator takes its own clock: after NTP's grace, and with a `serve` to wait for, SERVE_WAIT_MS more. */
export const initiatorOwnAfterMs = (config: Pick<NodeConfig, 'snapSource'>): number =>
  NTP_GRACE_MS + (config.snapSource?.kind === 'bundle' ? SERVE_WAIT_MS : 0);

/** The build time the operator sealed into this card's identity; undefined on a card built without an operator key. */
export function buildTimeOf(config: CardTime): number | undefined {
  const { operatorKey, identity } = config.join;
  if (!operatorKey || !identity) return undefined;
  const read = readIdentity(operatorKey, identity);
  return read.ok ? read.value.issued : undefined;
}

/** timesyncd says the clock is synchronised (NTP). */
export const clockSynchronised = async (run: CommandRunner): Promise<boolean> =>
  (await run('timedatectl', ['show', '--property=NTPSynchronized', '--value'])).stdout.trim() === 'yes';

/** "name (address)" of the server systemd-timesyncd is asking, or '' when it says nothing. */
async function timeServer(run: CommandRunner): Promise<string> {
  const ran = await run('timedatectl', ['show-timesync', '--property=ServerName', '--property=ServerAddress']);
  if (ran.exitCode !== 0) return '';
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(ran.stdout)?.[1]?.trim() ?? '';
  const [name, address] = [value('ServerName'), value('ServerAddress')];
  return name && address && name !== address ? `${name} (${address})` : name || address;
}

/**
 * Sets the system clock (root). "@S.mmm" is seconds since the epoch, the same in every time zone:
 * no -u, which uutils' date before PR 10828 (Ubuntu 25.10's) took as "read the wall time as UTC".
 */
async function setClock(s: ClockSettling, ms: number): Promise<boolean> {
  const ran = await s.run('date', ['-s', `@${(ms / 1000).toFixed(3)}`]);
  if (ran.exitCode !== 0) s.log.warn(`clock: could not set the time: ${(ran.stderr || ran.stdout).trim().slice(0, 200)}`);
  return ran.exitCode === 0;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The time a peer's signed status gives, when that peer has settled its own clock. */
function peerTime(status: NodeStatus | undefined): number | undefined {
  if (!status?.clock?.now || status.clock.source === undefined) return undefined;
  const ms = Date.parse(status.clock.now);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Raises the clock to the card's build time when it reads earlier; true when it had to. */
async function raiseToBuildTime(s: ClockSettling, built: number | undefined): Promise<boolean> {
  const now = s.clock.now();
  if (built === undefined || now >= built) return false;
  s.log.info(`clock: it read ${iso(now)}, before this card was built (${iso(built)}); set to the build time`);
  return setClock(s, built);
}

/**
 * Waits until the clock is settled as the header says, and says how; unsettled when `timeoutMs`
 * passed first. A source whose time is before the card's build time is not taken.
 */
export async function settleClock(s: ClockSettling, options: SettleOptions): Promise<SettledClock | Unsettled> {
  const { config, clock } = s;
  const buildTime = buildTimeOf(config); // an Ed25519 check of the sealed identity: once per settling
  await raiseToBuildTime(s, buildTime);
  const built = buildTime ?? 0;
  const began = clock.now();
  const server = config.snapSource?.kind === 'bundle' ? config.snapSource.server : undefined;
  const operatorKey = config.join.operatorKey;
  const initiator = config.peers.find((p) => p.name === config.initiator);
  const others = config.peers.filter((p) => p !== initiator);
  const said = new Set<string>();
  const once = (key: string, line: string) => {
    if (!said.has(key)) s.log.info(line);
    said.add(key);
  };
  let behind = ''; // a source whose time was before this card's build: the site's clock lags the real one
  const take = async (ms: number, source: ClockSource, from: string): Promise<SettledClock | undefined> => {
    if (ms < built) {
      behind = from;
      once(`behind ${from}`, `clock: ${from} gives ${iso(ms)}, before this card was built (${iso(built)}): not taken. The site's clock lags `
        + 'the real time (each power cut without NTP loses its length): start build-image serve or give the site NTP, and the members follow.');
      return undefined;
    }
    const offset = ms - clock.now();
    if (options.neverBackMs !== undefined && offset < -options.neverBackMs) {
      once(`back ${from}`, `clock: ${from} gives ${iso(ms)}, ${(-offset / 1000).toFixed(0)} s behind this clock, which after a restart only lags: not taken`);
      return undefined;
    }
    if (Math.abs(offset) > CLOSE_ENOUGH_MS && !(await setClock(s, ms))) return undefined;
    const detail = `the time from ${from} (${offset >= 0 ? '+' : ''}${(offset / 1000).toFixed(3)} s)`;
    s.log.info(`clock: no NTP server answered; took ${detail}`);
    return { source, detail };
  };
  const fromServe = async (): Promise<SettledClock | undefined> => {
    if (!server || !operatorKey) return undefined;
    const reply = await s.askSiteTime(server, { operatorKey, cluster: config.cluster });
    if (reply.ok) return take(reply.now, 'serve', `build-image serve at ${server.address}`);
    once(`serve ${reply.reason}`, `clock: build-image serve at ${server.address} gave no time it could vouch for (${reply.reason})`);
    return undefined;
  };
  /** The time at least two settled peers agree on (one, in a cluster with one other peer): one card alone moves nobody's clock. */
  const fromPeers = async (): Promise<SettledClock | undefined> => {
    const times: { name: string; ms: number }[] = [];
    for (const peer of others) {
      const ms = peerTime(await s.readPeer(peer.address, config.statusPort));
      if (ms !== undefined) times.push({ name: peer.name, ms });
    }
    const needed = Math.min(2, others.length);
    for (const t of times) {
      const agreeing = times.filter((u) => Math.abs(u.ms - t.ms) <= AGREE_MS);
      if (needed && agreeing.length >= needed) return take(t.ms, 'peer', agreeing.map((u) => u.name).join(' and '));
    }
    return undefined;
  };

  for (;;) {
    if (await clockSynchronised(s.run)) return { source: 'ntp', detail: 'synchronised by NTP' };
    const waited = clock.now() - began;
    if (waited >= NTP_GRACE_MS) {
      let settled: SettledClock | undefined;
      if (!initiator) {
        // The initiator: the site's one root. After a restart, peers that settled on it before may vouch for the time.
        settled = await fromServe() ?? await fromPeers();
      } else {
        const status = await s.readPeer(initiator.address, config.statusPort);
        const ms = peerTime(status);
        if (ms !== undefined) settled = await take(ms, 'initiator', initiator.name);
        else if (!status) settled = await fromServe() ?? await fromPeers(); // the initiator is silent: gone, or not up yet
      }
      if (settled) return settled;
      if (options.ownAfterMs !== undefined && waited >= options.ownAfterMs) {
        s.log.info(`clock: no NTP server, no sealed time from build-image serve, no ${initiator ? `answer from ${initiator.name} or ` : ''}peers `
          + `agreeing on a time: this node's own clock (${iso(clock.now())}) is the cluster's until NTP arrives`);
        return { source: 'own', detail: 'its own clock (no NTP server, serve or peer answered)' };
      }
    }
    if (options.timeoutMs !== undefined && waited >= options.timeoutMs) return { unsettled: true, ...(behind ? { behind } : {}) };
    // Say which server timesyncd is asking: a pool name here means network.ntp never reached it.
    const asking = await timeServer(s.run);
    const ntp = `NTP${asking ? `, asking ${asking}` : ''}`;
    s.report(waited < NTP_GRACE_MS ? `waiting for the clock to synchronise (${ntp})`
      : `waiting for the clock: no NTP server answers (${ntp}); asking ${[initiator?.name ?? '', server ? 'build-image serve' : '']
        .filter(Boolean).join(' and ') || 'the peers'} for the time`, 'waiting');
    await clock.sleep(options.pollMs());
  }
}
