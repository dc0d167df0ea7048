// The clock of a site without NTP: the build time as a floor; one root, the initiator (which asks
// serve, then takes its own clock); the others follow it, and only while it is silent take serve's
// time or the time two settled peers agree on. Over a model clock that `date -s` moves.
import { describe, expect, it } from '@jest/globals';
import { operatorPublicKey } from '../join/join-ticket.js';
import { issueIdentity } from '../join/node-identity.js';
import type { CommandRunner } from '../../builder/command-runner.js';
import type { NodeStatus, SiteTimeAsker } from '../run/types.js';
import { TEST_ISSUED_MS, TEST_OPERATOR_KEY } from '../../test/helpers/operator-key.js';
import { initiatorOwnAfterMs, NTP_GRACE_MS, SERVE_WAIT_MS, settleClock, type ClockSettling, type SettleOptions } from './settle-clock.js';

const BUILT = TEST_ISSUED_MS;
const SERVE = { address: '10.0.0.2', port: 8555 };
const HOUR = 3_600_000;
const PEERS = { pi1: '10.0.0.11', pi3: '10.0.0.13', pi4: '10.0.0.14' } as const;
type Peer = keyof typeof PEERS;

const settledAt = (ms: number, source: 'ntp' | 'own' | 'serve' = 'own'): NodeStatus =>
  ({ node: 'x', step: 'done', state: 'done', since: '', clock: { source, now: new Date(ms).toISOString() } });
const unsettled: NodeStatus = { node: 'x', step: 'wait-ready', state: 'waiting', since: '' };

/** pi2, whose system clock reads `clockMs`, with no NTP unless `ntpAfterMs`, and the sources given; pi1 is the initiator unless `isInitiator`. */
function site(options: { clockMs: number; isInitiator?: boolean; ntpAfterMs?: number; serve?: SiteTimeAsker;
  peers?: Partial<Record<Peer, () => NodeStatus | undefined>>; bundle?: boolean; dateFails?: boolean }) {
  let now = options.clockMs;
  let elapsed = 0;
  const set: number[] = [];
  const commands: string[] = [];
  const run: CommandRunner = async (file, args) => {
    commands.push(`${file} ${args.join(' ')}`);
    if (file === 'timedatectl' && args[0] === 'show' && args[1] === '--property=NTPSynchronized')
      return { exitCode: 0, stdout: options.ntpAfterMs !== undefined && elapsed >= options.ntpAfterMs ? 'yes\n' : 'no\n', stderr: '' };
    if (file === 'timedatectl') return { exitCode: 0, stdout: 'ServerName=10.0.0.1\nServerAddress=10.0.0.1\n', stderr: '' };
    if (file === 'date' && !options.dateFails) {
      const ms = Math.round(Number(args[1]!.slice(1)) * 1000);
      set.push(ms);
      now = ms;
      return { exitCode: 0, stdout: '', stderr: '' };
    }
    return { exitCode: 1, stdout: '', stderr: 'date: cannot set date: Operation not permitted' };
  };
  const asked: string[] = [];
  const identity = issueIdentity(TEST_OPERATOR_KEY, { cluster: 'lab', node: 'pi2', address: '10.0.0.12', issued: BUILT }).identity;
  const lines: string[] = [];
  const settling: ClockSettling = {
    config: {
      cluster: 'lab', node: 'pi2', isInitiator: options.isInitiator ?? false, initiator: options.isInitiator ? 'pi2' : 'pi1', statusPort: 8080,
      peers: (Object.keys(PEERS) as Peer[]).map((name) => ({ name, address: PEERS[name] })),
      ...(options.bundle === false ? {} : { snapSource: { kind: 'bundle' as const, server: SERVE } }),
      join: { operatorKey: operatorPublicKey(TEST_OPERATOR_KEY), identity },
    },
    run,
    log: { info: (l) => lines.push(l), warn: (l) => lines.push(`WARN ${l}`) },
    clock: { now: () => now, sleep: async (ms) => { now += ms; elapsed += ms; } },
    readPeer: async (address) => {
      asked.push(address);
      const name = (Object.keys(PEERS) as Peer[]).find((n) => PEERS[n] === address)!;
      return options.peers?.[name]?.();
    },
    askSiteTime: options.serve ?? (async () => ({ ok: false, reason: 'no answer' })),
    report: () => {},
  };
  return { settling, set, commands, asked, lines, now: () => now, elapsed: () => elapsed };
}

const POLL: SettleOptions = { pollMs: () => 5000 };
const source = (r: Awaited<ReturnType<typeof settleClock>>) => ('unsettled' in r ? undefined : r.source);

describe('settling the clock', () => {
  it('takes NTP as it comes and sets nothing when the clock is after the build', async () => {
    const s = site({ clockMs: BUILT + HOUR, ntpAfterMs: 20_000 });
    expect(await settleClock(s.settling, POLL)).toEqual({ source: 'ntp', detail: 'synchronised by NTP' });
    expect(s.set).toEqual([]);
    expect(s.elapsed()).toBe(20_000);
    expect(s.asked).toEqual([]);
  });

  it('never starts before the card was built: a clock from the image is raised to the build time first (no -u: @S is absolute)', async () => {
    const s = site({ clockMs: Date.UTC(2025, 0, 1), ntpAfterMs: 0 });
    await settleClock(s.settling, POLL);
    expect(s.set).toEqual([BUILT]);
    expect(s.commands[0]).toBe(`date -s @${(BUILT / 1000).toFixed(3)}`);
  });

  it('follows the settled initiator, not serve, even when serve is up: one root for the site', async () => {
    let serveAsked = 0;
    const s = site({ clockMs: BUILT + 10_000, serve: async () => { serveAsked++; return { ok: true, now: BUILT + 9 * HOUR }; },
      peers: { pi1: () => settledAt(BUILT + 2 * HOUR, 'serve') } });
    expect(source(await settleClock(s.settling, POLL))).toBe('initiator');
    expect(s.set).toEqual([BUILT + 2 * HOUR]);
    expect(serveAsked).toBe(0);
    expect(s.elapsed()).toBe(NTP_GRACE_MS);
  });

  it('waits while the initiator answers unsettled: asks nobody else, takes nothing', async () => {
    let serveAsked = 0;
    const s = site({ clockMs: BUILT + 10_000, serve: async () => { serveAsked++; return { ok: true, now: BUILT + HOUR }; },
      peers: { pi1: () => unsettled, pi3: () => settledAt(BUILT + HOUR), pi4: () => settledAt(BUILT + HOUR) } });
    expect(await settleClock(s.settling, { ...POLL, timeoutMs: 10 * 60_000 })).toEqual({ unsettled: true });
    expect(new Set(s.asked)).toEqual(new Set([PEERS.pi1]));
    expect(serveAsked).toBe(0);
  });

  it('only while the initiator is silent: serve\'s sealed time', async () => {
    const s = site({ clockMs: BUILT + 60_000, serve: async (server, trust) => {
      expect(server).toEqual(SERVE);
      expect(trust).toEqual({ operatorKey: operatorPublicKey(TEST_OPERATOR_KEY), cluster: 'lab' });
      return { ok: true, now: BUILT + 5 * HOUR };
    } });
    expect(source(await settleClock(s.settling, POLL))).toBe('serve');
    expect(s.set).toEqual([BUILT + 5 * HOUR]);
    expect(s.asked).toEqual([PEERS.pi1]);
  });

  it('the initiator silent and no serve: two settled peers must agree; one card alone moves nobody', async () => {
    let pi4 = (): NodeStatus | undefined => settledAt(BUILT + 400 * 86_400_000); // a lost card, set far ahead
    const s = site({ clockMs: BUILT + 10_000, bundle: false, peers: { pi3: () => settledAt(BUILT + HOUR), pi4: () => pi4() } });
    expect(await settleClock(s.settling, { ...POLL, timeoutMs: 5 * 60_000 })).toEqual({ unsettled: true });
    expect(s.set).toEqual([]);
    pi4 = () => settledAt(BUILT + HOUR + 3000);
    const settled = await settleClock(s.settling, POLL);
    expect(settled).toMatchObject({ source: 'peer', detail: expect.stringMatching(/^the time from pi3 and pi4/) });
    expect(s.set).toEqual([BUILT + HOUR]);
  });

  it('a time from before the build is not taken, said once, and the failure says the site\'s clock lags', async () => {
    const s = site({ clockMs: BUILT + 10_000, peers: { pi1: () => settledAt(BUILT - 86_400_000) } });
    expect(await settleClock(s.settling, { ...POLL, timeoutMs: 10 * 60_000 })).toEqual({ unsettled: true, behind: 'pi1' });
    expect(s.lines.filter((l) => l.includes('before this card was built'))).toHaveLength(1);
    expect(s.lines.join('\n')).toMatch(/The site's clock lags the real time .*: start build-image serve or give the site NTP/);
    expect(s.set).toEqual([]);
  });

  it('a restarted member never steps back: a source behind its clock (which only lags after a power cut) is refused', async () => {
    const s = site({ clockMs: BUILT + 10 * HOUR, peers: { pi1: () => settledAt(BUILT + HOUR) } });
    expect(await settleClock(s.settling, { ...POLL, neverBackMs: 5000, timeoutMs: 5 * 60_000 })).toEqual({ unsettled: true });
    expect(s.lines.join('\n')).toMatch(/pi1 gives .* behind this clock, which after a restart only lags: not taken/);
    const ahead = site({ clockMs: BUILT + 10 * HOUR, peers: { pi1: () => settledAt(BUILT + 11 * HOUR) } });
    expect(source(await settleClock(ahead.settling, { ...POLL, neverBackMs: 5000 }))).toBe('initiator');
  });

  it('the initiator asks serve a while longer (a laptop started late) before it takes its own clock', async () => {
    let serveUpAt = NTP_GRACE_MS + 2 * 60_000;
    const s = site({ clockMs: BUILT + HOUR, isInitiator: true, serve: async () => (s.elapsed() >= serveUpAt
      ? { ok: true, now: BUILT + 3 * HOUR } : { ok: false, reason: 'no answer' }) });
    const own = { ...POLL, ownAfterMs: initiatorOwnAfterMs(s.settling.config) };
    expect(own.ownAfterMs).toBe(NTP_GRACE_MS + SERVE_WAIT_MS);
    expect(source(await settleClock(s.settling, own))).toBe('serve');
    serveUpAt = Infinity;
    const alone = site({ clockMs: BUILT + HOUR, isInitiator: true, bundle: false });
    expect(source(await settleClock(alone.settling, { ...POLL, ownAfterMs: initiatorOwnAfterMs(alone.settling.config) }))).toBe('own');
    expect(alone.elapsed()).toBe(NTP_GRACE_MS);
    expect(alone.set).toEqual([]);
  });

  it('a clock that cannot be set is not settled: it keeps asking, and says why', async () => {
    const s = site({ clockMs: BUILT + 10_000, dateFails: true, serve: async () => ({ ok: true, now: BUILT + HOUR }) });
    expect(await settleClock(s.settling, { ...POLL, timeoutMs: NTP_GRACE_MS + 20_000 })).toEqual({ unsettled: true });
    expect(s.lines.some((l) => l.includes('WARN clock: could not set the time: date: cannot set date'))).toBe(true);
  });

  it('leaves a clock within half a second of the source alone', async () => {
    const s = site({ clockMs: BUILT + HOUR, serve: async () => ({ ok: true, now: s.now() + 300 }) });
    expect(source(await settleClock(s.settling, POLL))).toBe('serve');
    expect(s.set).toEqual([]);
  });
});
