// Step 7: the cluster really formed: every member online in LXD, MicroCeph and MicroOVN healthy
// where configured. A joiner's preseed returns before LXD, Ceph and OVN have joined, and
// `microcloud status` exits 0 even on errors, so we parse the services' own answers.
import { TemporaryFailure, type Step, type StepContext } from '../run/types.js';
import { pollUntil } from './poll.js';

const VERIFY_TIMEOUT_MS = 30 * 60_000;
/**
 * Written once this node joined a formed cluster through an add session (root-only state dir):
 * then it answers for itself being online, not for every node of its cluster file (another new
 * node may still be on its way, or dead).
 */
export const JOINED_MARKER = '/var/lib/microcloud-pi/joined';

export async function clusterProblems(ctx: StepContext): Promise<string[]> {
  const problems: string[] = [];
  const lxc = await ctx.run('lxc', ['cluster', 'list', '--format', 'json']);
  const members = lxc.exitCode === 0 ? JSON.parse(lxc.stdout || '[]') as { server_name: string; status: string }[] : [];
  const online = members.filter((m) => m.status === 'Online').length;
  if (await ctx.files.read(JOINED_MARKER) !== undefined) {
    if (!members.some((m) => m.server_name === ctx.config.node && m.status === 'Online')) problems.push(`LXD does not list ${ctx.config.node} online`);
  } else if (online < ctx.config.expect.members) {
    problems.push(`LXD has ${online} of ${ctx.config.expect.members} members online`);
  }
  if (ctx.config.expect.ceph && (await ctx.run('microceph', ['status'])).exitCode !== 0) problems.push('MicroCeph is not healthy');
  if (ctx.config.expect.ovn && (await ctx.run('microovn', ['status'])).exitCode !== 0) problems.push('MicroOVN is not healthy');
  return problems;
}

export const verify: Step = {
  id: 'verify',
  isDone: async () => false, // read-only: always look again
  async run(ctx) {
    let last: string[] = [];
    const ok = await pollUntil(ctx.clock, VERIFY_TIMEOUT_MS, 10_000, async () => {
      last = await clusterProblems(ctx);
      if (last.length) ctx.report(`waiting for the cluster: ${last.join('; ')}`, 'waiting');
      return last.length ? undefined : true;
    });
    if (!ok) throw new TemporaryFailure(`the cluster did not come up: ${last.join('; ')}`);
  },
};
