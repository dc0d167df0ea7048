// Step 3: the four snaps at the cluster's channels (install, or refresh to the channel), from
// one cohort so every member gets the same revisions, then held against automatic refreshes.
// With `microcloud.snaps.source: bundle`, from the cluster's bundle instead (install-bundle.ts).
import { TemporaryFailure, type Step, type StepContext } from '../run/types.js';
import { lastLine } from '../run/redact.js';
import { installFromBundle } from '../bundle/install-bundle.js';
import { withRisk } from '../bundle/bundle-manifest.js';

export const SNAP_ORDER = ['lxd', 'microceph', 'microovn', 'microcloud'] as const;
const ATTEMPTS = 5;

/** The channel `snap list NAME` says it tracks, or undefined when it is not installed. */
export async function trackedChannel(ctx: StepContext, snap: string): Promise<string | undefined> {
  const ran = await ctx.run('snap', ['list', snap]);
  if (ran.exitCode !== 0) return undefined;
  const row = ran.stdout.split('\n').slice(1).map((l) => l.trim().split(/\s+/)).find((cols) => cols[0] === snap);
  return row?.[3];
}

async function wanted(ctx: StepContext): Promise<{ snap: string; channel: string }[]> {
  return SNAP_ORDER.map((snap) => ({ snap, channel: withRisk(ctx.config.snaps[snap]) }));
}

export const installSnaps: Step = {
  id: 'install-snaps',
  // run() skips every snap already at its channel and the hold is idempotent: nothing to probe.
  isDone: async () => false,
  async run(ctx) {
    ctx.report('waiting for snapd to finish seeding');
    await ctx.run('snap', ['wait', 'system', 'seed.loaded'], { timeoutMs: 30 * 60_000 });
    if (ctx.config.snapSource?.kind === 'bundle') await installFromBundle(ctx, SNAP_ORDER);
    else await fromStore(ctx);
    const hold = await ctx.run('snap', ['refresh', '--hold', ...SNAP_ORDER]);
    if (hold.exitCode !== 0) throw new TemporaryFailure(`snap refresh --hold failed: ${lastLine(hold.stderr)}`);
  },
};

/** Today's path: each snap from the Snap Store at its channel, one cohort. */
async function fromStore(ctx: StepContext): Promise<void> {
  for (const { snap, channel } of await wanted(ctx)) {
    for (let attempt = 1; ; attempt++) {
      const have = await trackedChannel(ctx, snap);
      if (have === channel) break;
      ctx.report(`${have ? 'refreshing' : 'installing'} ${snap} ${channel}`);
      const ran = await ctx.run('snap', [have ? 'refresh' : 'install', snap, `--channel=${channel}`, '--cohort=+'],
        { timeoutMs: 30 * 60_000 });
      if (ran.exitCode === 0) break;
      if (attempt === ATTEMPTS)
        throw new TemporaryFailure(`snap ${have ? 'refresh' : 'install'} ${snap} failed ${ATTEMPTS} times: ${lastLine(ran.stderr)}`);
      ctx.log.warn(`snap ${snap}: ${lastLine(ran.stderr)}; retrying`);
      await ctx.clock.sleep(15_000 * 2 ** (attempt - 1));
    }
  }
}
