// The clock of a site without NTP: the build time as a floor, serve's sealed time, the
// initiator's signed status, the initiator's own clock. Over a model clock that `date -s` moves.
import { describe, expect, it } from '@jest/globals';
import { operatorPublicKey } from '../join/join-ticket.js';
import { issueIdentity } from '../join/node-identity.js';
import type { CommandRunner } from '../../builder/command-runner.js';
import type { NodeStatus, SiteTimeAsker } from '../run/types.js';
import { TEST_ISSUED_MS, TEST_OPERATOR_KEY } from '../../test/helpers/operator-key.js';
import { NTP_GRACE_MS, settleClock, type ClockSettling } from './settle-clock.js';

const BUILT = TEST_ISSUED_MS;
const SERVE = { address: '10.0.0.2', port: 8555 };
const HOUR = 3_600_000;

/** A node whose system clock reads `clockMs`, with no NTP unless `ntpAfterMs`, and the sources given. */
function site(options: { clockMs: number; isInitiator?: boolean; ntpAfterMs?: number; serve?: SiteTimeAsker;
  initiatorStatus?: () => NodeStatus | undefined; bundle?: boolean; dateFails?: boolean }) {
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
      const ms = Math.round(Number(args[2]!.slice(1)) * 1000);
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
      cluster: 'lab', node: 'pi2', isInitiator: options.isInitiator ?? false, initiator: 'pi1', statusPort: 8080,
      peers: [{ name: 'pi3', address: '10.0.0.13' }, { name: 'pi1', address: '10.0.0.11' }],
      ...(options.bundle === false ? {} : { snapSource: { kind: 'bundle' as const, server: SERVE } }),
      join: { operatorKey: operatorPublicKey(TEST_OPERATOR_KEY), identity },
    },
    run,
    log: { info: (l) => lines.push(l), warn: (l) => lines.push(`WARN ${l}`) },
    clock: { now: () => now, sleep: async (ms) => { now += ms; elapsed += ms; } },
    readPeer: async (address) => {
      asked.push(address);
      return address === '10.0.0.11' ? options.initiatorStatus?.() : { node: 'pi3', step: 'wait-ready', state: 'waiting', since: '' };
    },
    askSiteTime: options.serve ?? (async () => ({ ok: false, reason: 'no answer' })),
    report: () => {},
  };
  return { settling, set, commands, asked, lines, now: () => now, elapsed: () => elapsed };
}

const POLL = { pollMs: () => 5000 };

describe('settling the clock', () => {
  it('takes NTP as it comes and sets nothing when the clock is after the build', async () => {
    const s = site({ clockMs: BUILT + HOUR, ntpAfterMs: 20_000 });
    expect(await settleClock(s.settling, POLL)).toEqual({ source: 'ntp', detail: 'synchronised by NTP' });
    expect(s.set).toEqual([]);
    expect(s.elapsed()).toBe(20_000);
  });

  it('never starts before the card was built: a clock from the image is raised to the build time first', async () => {
    const s = site({ clockMs: Date.UTC(2025, 0, 1), ntpAfterMs: 0 });
    await settleClock(s.settling, POLL);
    expect(s.set).toEqual([BUILT]);
    expect(s.commands[0]).toBe(`date -u -s @${(BUILT / 1000).toFixed(3)}`);
  });

  it('without NTP, takes the time serve sealed once the grace has passed, not before', async () => {
    const operatorTime = BUILT + 5 * HOUR;
    let asks = 0;
    const s = site({ clockMs: BUILT + 60_000, serve: async (server, trust) => {
      asks++;
      expect(server).toEqual(SERVE);
      expect(trust).toEqual({ operatorKey: operatorPublicKey(TEST_OPERATOR_KEY), cluster: 'lab' });
      return { ok: true, now: operatorTime };
    } });
    const settled = await settleClock(s.settling, POLL);
    expect(settled?.source).toBe('serve');
    expect(asks).toBe(1);
    expect(s.elapsed()).toBe(NTP_GRACE_MS);
    expect(s.set).toEqual([operatorTime]);
    expect(s.asked).toEqual([]); // serve answered: no peer was asked
  });

  it('refuses a time from before the build, and one serve could not vouch for, and follows the initiator instead', async () => {
    const initiatorAt = BUILT + 2 * HOUR;
    const s = site({
      clockMs: BUILT + 10_000,
      serve: async () => ({ ok: true, now: BUILT - 86_400_000 }),
      initiatorStatus: () => ({ node: 'pi1', step: 'install-snaps', state: 'running', since: '', clock: { source: 'own', now: new Date(initiatorAt).toISOString() } }),
    });
    const settled = await settleClock(s.settling, POLL);
    expect(settled?.source).toBe('initiator');
    expect(s.set).toEqual([initiatorAt]);
    expect(s.asked[0]).toBe('10.0.0.11'); // the initiator before the cluster file's order
    expect(s.lines.join('\n')).toMatch(/build-image serve at 10\.0\.0\.2 gives 20\d\d-.*before this card was built.*not taken/);
  });

  it('waits for a peer that has not settled its own clock (no `clock` in its status) and for good without ownAfterMs', async () => {
    let settledAfter = Infinity;
    const s = site({
      clockMs: BUILT + 10_000, bundle: false,
      initiatorStatus: () => (s.elapsed() >= settledAfter
        ? { node: 'pi1', step: 'wait-ready', state: 'running', since: '', clock: { source: 'ntp', now: new Date(BUILT + HOUR).toISOString() } }
        : { node: 'pi1', step: 'wait-ready', state: 'waiting', since: '' }),
    });
    expect(await settleClock(s.settling, { ...POLL, timeoutMs: 10 * 60_000 })).toBeUndefined();
    settledAfter = s.elapsed() + 30_000;
    expect((await settleClock(s.settling, POLL))?.source).toBe('initiator');
  });

  it('the initiator, with neither NTP nor serve, takes its own clock after the grace and sets nothing', async () => {
    const s = site({ clockMs: BUILT + HOUR, isInitiator: true, bundle: false });
    const settled = await settleClock(s.settling, { ...POLL, ownAfterMs: NTP_GRACE_MS });
    expect(settled?.source).toBe('own');
    expect(s.elapsed()).toBe(NTP_GRACE_MS);
    expect(s.set).toEqual([]);
  });

  it('a clock that cannot be set is not settled: it keeps asking, and says why', async () => {
    const s = site({ clockMs: BUILT + 10_000, dateFails: true, serve: async () => ({ ok: true, now: BUILT + HOUR }) });
    expect(await settleClock(s.settling, { ...POLL, timeoutMs: NTP_GRACE_MS + 20_000 })).toBeUndefined();
    expect(s.lines.some((l) => l.includes('WARN clock: could not set the time: date: cannot set date'))).toBe(true);
  });

  it('leaves a clock within half a second of the source alone', async () => {
    const s = site({ clockMs: BUILT + HOUR, serve: async () => ({ ok: true, now: s.now() + 300 }) });
    expect((await settleClock(s.settling, POLL))?.source).toBe('serve');
    expect(s.set).toEqual([]);
  });
});
