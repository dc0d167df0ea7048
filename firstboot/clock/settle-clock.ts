// A Pi has no real-time clock: it starts from the last time it saved, or from the image's. Join
// requests, tickets and the nonce ledger are checked against the clock, MicroCloud and its
// services make certificates valid from "now", and Ceph wants its monitors' clocks to agree. So
// before a node installs or forms, and before a member opens its join desk, the clock is settled:
//
//   1. never before the card was built: the identity the operator sealed carries the build time;
//   2. NTP when a server answers (timesyncd; the cluster file's network.ntp);
//   3. without NTP for NTP_GRACE_MS: the time `build-image serve` gives, sealed with the operator's
//      key for this request (an offline site's laptop), else the initiator's clock as its signed
//      status tells it (any peer that settled its own clock will do once the initiator is gone);
//   4. the initiator, finding neither, takes its own clock (after step 1): the others follow it.
//
// Every node of an offline site so takes its time from one place and the cluster agrees, to a few
// milliseconds of the network; a later NTP server moves all of them to the real time (README).
import type { NodeConfig } from '../../builder/render/node-config.js';
import type { CommandRunner } from '../../builder/command-runner.js';
import { readIdentity } from '../join/node-identity.js';
import type { Clock, ClockSource, Logger, NodeStatus, PeerStatusReader, SiteTimeAsker } from '../run/types.js';

/** How long NTP alone is waited for before the site's own sources are asked. */
export const NTP_GRACE_MS = 90_000;
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
  /** This node may take its own clock once no source answered for this long (the initiator: NTP_GRACE_MS). */
  readonly ownAfterMs?: number;
  /** Gives up (undefined) after this long; waits for good without it. */
  readonly timeoutMs?: number;
}

export interface SettledClock { readonly source: ClockSource; readonly detail: string }

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

/** Sets the system clock (root; `date` takes fractions of a second after the @). */
async function setClock(s: ClockSettling, ms: number): Promise<boolean> {
  const ran = await s.run('date', ['-u', '-s', `@${(ms / 1000).toFixed(3)}`]);
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
export async function raiseToBuildTime(s: ClockSettling): Promise<boolean> {
  const built = buildTimeOf(s.config);
  const now = s.clock.now();
  if (built === undefined || now >= built) return false;
  s.log.info(`clock: it read ${iso(now)}, before this card was built (${iso(built)}); set to the build time`);
  return setClock(s, built);
}

/**
 * Waits until the clock is settled as the header says, and says how; undefined when `timeoutMs`
 * passed first. A source whose time is before the card's build time is not taken.
 */
export async function settleClock(s: ClockSettling, options: SettleOptions): Promise<SettledClock | undefined> {
  await raiseToBuildTime(s);
  const { config, clock } = s;
  const built = buildTimeOf(config) ?? 0;
  const began = clock.now();
  const server = config.snapSource?.kind === 'bundle' ? config.snapSource.server : undefined;
  const operatorKey = config.join.operatorKey;
  // The initiator first, then the others in the cluster file's order.
  const peers = [...config.peers].sort((a, b) => Number(b.name === config.initiator) - Number(a.name === config.initiator));
  const said = new Set<string>();
  const once = (line: string) => {
    if (!said.has(line)) s.log.info(line);
    said.add(line);
  };
  const take = async (ms: number, source: ClockSource, from: string): Promise<SettledClock | undefined> => {
    if (ms < built) {
      once(`clock: ${from} gives ${iso(ms)}, before this card was built (${iso(built)}): not taken`);
      return undefined;
    }
    const offset = ms - clock.now();
    if (Math.abs(offset) > CLOSE_ENOUGH_MS && !(await setClock(s, ms))) return undefined;
    const detail = `the time from ${from} (${offset >= 0 ? '+' : ''}${(offset / 1000).toFixed(3)} s)`;
    s.log.info(`clock: no NTP server answered; took ${detail}`);
    return { source, detail };
  };

  for (;;) {
    if (await clockSynchronised(s.run)) return { source: 'ntp', detail: 'synchronised by NTP' };
    const waited = clock.now() - began;
    if (waited >= NTP_GRACE_MS) {
      if (server && operatorKey) {
        const reply = await s.askSiteTime(server, { operatorKey, cluster: config.cluster });
        if (reply.ok) {
          const settled = await take(reply.now, 'serve', `build-image serve at ${server.address}`);
          if (settled) return settled;
        } else {
          once(`clock: build-image serve at ${server.address} gave no time it could vouch for (${reply.reason})`);
        }
      }
      for (const peer of peers) {
        const status = await s.readPeer(peer.address, config.statusPort);
        const ms = peerTime(status);
        // The initiator answers but has not settled yet: wait for it rather than ask everyone (one root for the cluster's time).
        if (ms === undefined && status && peer.name === config.initiator) break;
        if (ms === undefined) continue;
        const settled = await take(ms, peer.name === config.initiator ? 'initiator' : 'peer', peer.name);
        if (settled) return settled;
      }
      if (options.ownAfterMs !== undefined && waited >= options.ownAfterMs) {
        s.log.info(`clock: no NTP server, no sealed time from build-image serve, no peer with a settled clock: `
          + `this node's own clock (${iso(clock.now())}) is the cluster's until NTP arrives`);
        return { source: 'own', detail: 'its own clock (no NTP server, serve or peer answered)' };
      }
    }
    if (options.timeoutMs !== undefined && waited >= options.timeoutMs) return undefined;
    // Say which server timesyncd is asking: a pool name here means network.ntp never reached it.
    const asking = await timeServer(s.run);
    const ntp = `NTP${asking ? `, asking ${asking}` : ''}`;
    s.report(waited < NTP_GRACE_MS ? `waiting for the clock to synchronise (${ntp})`
      : `waiting for the clock: no NTP server answers (${ntp}); asking ${[server ? 'build-image serve' : '', config.isInitiator ? '' : config.initiator]
        .filter(Boolean).join(' and ') || 'the peers'} for the time`, 'waiting');
    await clock.sleep(options.pollMs());
  }
}
