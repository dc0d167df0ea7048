// Step 1: cloud-init finished, the intra-cluster address is up, and the clock is settled: NTP, or
// on a site without it the time the whole cluster agrees on (clock/settle-clock.ts). A Pi has no
// real-time clock; the cluster join uses TLS and Ceph wants agreeing clocks.
import { siteTimeAsker } from '../clock/ask-site-time.js';
import { initiatorOwnAfterMs, settleClock } from '../clock/settle-clock.js';
import { TemporaryFailure, type Step } from '../run/types.js';
import { jittered, peerPollMs, pollUntil } from './poll.js';

const MINUTE = 60_000;
/** How often the clock is looked at (NTP, serve, the initiator) in a small cluster; less often in a large one. */
export const CLOCK_POLL_MS = 5000;
/** After this, the service restarts and waits again (it says what it waited for). */
const CLOCK_TIMEOUT_MS = 15 * MINUTE;

export const waitReady: Step = {
  id: 'wait-ready',
  // After a power cut the Pi's clock starts from the last saved time (no RTC) and the network may
  // be slower than before: the steps resumed after this one need all three again.
  everyBoot: true,
  isDone: async () => false, // only waits: cheap to repeat
  async run(ctx) {
    ctx.report('waiting for cloud-init to finish', 'waiting');
    // Exit 2 is "degraded" (a deprecation warning, say): done all the same. Exit 1 is an error in
    // some module (a locale that cannot be generated, say): final, so waiting again cannot help;
    // say so and go on, as every later step checks what it needs itself (address, clock, files).
    const cloudInit = await ctx.run('cloud-init', ['status', '--wait', '--long'], { timeoutMs: 30 * MINUTE });
    if (cloudInit.exitCode === 1)
      ctx.log.warn(`cloud-init finished with errors, going on (see /var/log/cloud-init.log): ${oneLine(cloudInit.stdout)}`);
    else if (cloudInit.exitCode !== 0 && cloudInit.exitCode !== 2)
      throw new TemporaryFailure(`cloud-init did not finish (${cloudInit.timedOut ? 'timed out' : `exit ${cloudInit.exitCode}`}); see /var/log/cloud-init.log`);

    // cloud-init writes without fsync (netplan, timesyncd and ssh config, our node files) and marks
    // its modules done: a power cut in the next half minute would keep the marks and lose the files.
    await ctx.run('sync', []);

    ctx.report(`waiting for ${ctx.config.address} on ${ctx.config.intraInterface}`, 'waiting');
    const addressUp = await pollUntil(ctx.clock, 10 * MINUTE, 2000, async () => {
      const ran = await ctx.run('ip', ['-j', '-4', 'addr', 'show']);
      const links = ran.exitCode === 0 ? JSON.parse(ran.stdout || '[]') as { addr_info?: { local?: string }[] }[] : [];
      return links.some((l) => l.addr_info?.some((a) => a.local === ctx.config.address)) ? true : undefined;
    });
    if (!addressUp) throw new TemporaryFailure(`${ctx.config.address} is not configured on any interface; check the cable and network-config`);

    // NTP, or without it the site's agreed time (clock/settle-clock.ts); published for the peers that follow this node's.
    const settled = await settleClock({ ...ctx, askSiteTime: ctx.askSiteTime ?? siteTimeAsker(ctx.clock, ctx.config.address) }, {
      pollMs: () => jittered(peerPollMs(ctx.config.peers.length, CLOCK_POLL_MS)),
      timeoutMs: CLOCK_TIMEOUT_MS, ...(ctx.config.isInitiator ? { ownAfterMs: initiatorOwnAfterMs(ctx.config) } : {}),
    });
    if ('unsettled' in settled) {
      const from = [`${ctx.config.initiator} (the initiator)`, ctx.config.snapSource?.kind === 'bundle' ? 'build-image serve' : ''].filter(Boolean);
      throw new TemporaryFailure(settled.behind
        ? `the clock is not settled: ${settled.behind} gives a time before this card was built, so the site's clock lags the real time; `
          + 'start build-image serve (with the operator key) or give the site NTP (network.ntp), then restart the members'
        : `the clock is not settled: no NTP server answered (network.ntp) and no time came from ${from.join(' or ')}`);
    }
    ctx.record({ clock: { source: settled.source } });
  },
};

/** `cloud-init status --long` as one log line, without the status and time lines. */
const oneLine = (text: string): string => text.split('\n').map((l) => l.trim())
  .filter((l) => l && !/^(status|time|boot_status_code|extended_status|last_update):/.test(l)).join(' ').slice(0, 400);
