// Step 1: cloud-init finished, the intra-cluster address is up, and the clock is synchronised
// (a Pi has no real-time clock; the cluster join uses TLS and Ceph wants agreeing clocks).
import type { CommandRunner } from '../../builder/command-runner.js';
import { TemporaryFailure, type Step, type StepContext } from '../run/types.js';
import { pollUntil } from './poll.js';

const MINUTE = 60_000;

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

    ctx.report('waiting for the clock to synchronise (NTP)', 'waiting');
    let asking = '';
    const synced = await pollUntil(ctx.clock, 15 * MINUTE, 5000, async () => {
      if (await clockSynchronised(ctx.run)) return true;
      // Say which server timesyncd is asking: a pool name here means network.ntp never reached it.
      asking = await timeServer(ctx);
      ctx.report(`waiting for the clock to synchronise (NTP${asking ? `, asking ${asking}` : ''})`, 'waiting');
      return undefined;
    });
    if (!synced) throw new TemporaryFailure(`the clock is not synchronised${asking ? ` (timesyncd was asking ${asking})` : ''}; the node needs an NTP server it can reach (network.ntp)`);
  },
};

/** timesyncd says the clock is synchronised (NTP). */
export const clockSynchronised = async (run: CommandRunner): Promise<boolean> =>
  (await run('timedatectl', ['show', '--property=NTPSynchronized', '--value'])).stdout.trim() === 'yes';

/** "name (address)" of the server systemd-timesyncd is asking, or '' when it says nothing. */
async function timeServer(ctx: StepContext): Promise<string> {
  const ran = await ctx.run('timedatectl', ['show-timesync', '--property=ServerName', '--property=ServerAddress']);
  if (ran.exitCode !== 0) return '';
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(ran.stdout)?.[1]?.trim() ?? '';
  const [name, address] = [value('ServerName'), value('ServerAddress')];
  return name && address && name !== address ? `${name} (${address})` : name || address;
}

/** `cloud-init status --long` as one log line, without the status and time lines. */
const oneLine = (text: string): string => text.split('\n').map((l) => l.trim())
  .filter((l) => l && !/^(status|time|boot_status_code|extended_status|last_update):/.test(l)).join(' ').slice(0, 400);
