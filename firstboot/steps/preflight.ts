// Step 4: before anything that cannot be undone, check that this Pi has what its part of the
// preseed needs (NICs, disks, kernel modules, snapd, memory). A node that fails stops here with
// every problem and its fix; its peers see that on its status and wait, so no node starts the
// preseed until every node has passed (wait-peers only counts nodes past this step).
import { checkNode, type PreflightOutcome } from '../preflight/check-node.js';
import {
  LSBLK_COLUMNS, moduleNames, parseIpAddr, parseLsblk, parseMemTotalMiB, parseSnapdVersion, type Nic, type NodeFacts,
} from '../preflight/node-facts.js';
import { ConfigurationFailure, TemporaryFailure, type Step, type StepContext } from '../run/types.js';
import { microcloudInitialised } from '../run/run-preseed.js';

async function nics(ctx: StepContext): Promise<Nic[]> {
  const ran = await ctx.run('ip', ['-j', 'addr', 'show']);
  if (ran.exitCode !== 0) throw new TemporaryFailure(`ip addr show failed: ${ran.stderr.trim()}`);
  return Promise.all(parseIpAddr(ran.stdout).map(async (nic) => {
    const driver = await ctx.run('readlink', ['-f', `/sys/class/net/${nic.name}/device/driver`]);
    const name = driver.exitCode === 0 ? driver.stdout.trim().split('/').pop() : undefined;
    return name && name !== 'driver' ? { ...nic, driver: name } : nic;
  }));
}

async function kernelModules(ctx: StepContext, wanted: readonly string[]): Promise<Record<string, boolean>> {
  if (!wanted.length) return {};
  // What `modprobe -n` consults, read directly: no dependence on kmod being installed.
  const release = (await ctx.files.read('/proc/sys/kernel/osrelease'))?.trim();
  const listings = release ? await Promise.all(['modules.dep', 'modules.builtin'].map((f) => ctx.files.read(`/lib/modules/${release}/${f}`))) : [];
  if (!listings.some((l) => l !== undefined)) {
    ctx.log.warn(`cannot read /lib/modules/${release ?? '?'}: kernel modules not checked`);
    return {};
  }
  const known = moduleNames(listings.join('\n'));
  const loaded = await Promise.all(wanted.map(async (m) => (await ctx.files.read(`/sys/module/${m}/refcnt`)) !== undefined));
  return Object.fromEntries(wanted.map((m, i) => [m, known.has(m) || loaded[i]!]));
}

export async function gatherFacts(ctx: StepContext): Promise<NodeFacts> {
  const needs = ctx.config.preflight;
  const lsblk = await ctx.run('lsblk', ['-J', '-b', '-p', '-o', LSBLK_COLUMNS]);
  if (lsblk.exitCode !== 0) throw new TemporaryFailure(`lsblk failed: ${lsblk.stderr.trim()}`);
  const diskPaths: Record<string, string | undefined> = {};
  for (const disk of needs.disks) {
    const ran = await ctx.run('readlink', ['-e', '--', disk.path]);
    diskPaths[disk.path] = ran.exitCode === 0 ? ran.stdout.trim() : undefined;
  }
  const snap = await ctx.run('snap', ['version']);
  const meminfo = await ctx.files.read('/proc/meminfo');
  const memoryMiB = meminfo === undefined ? undefined : parseMemTotalMiB(meminfo);
  const snapdVersion = snap.exitCode === 0 ? parseSnapdVersion(snap.stdout) : undefined;
  return {
    nics: await nics(ctx), blockDevices: parseLsblk(lsblk.stdout), diskPaths,
    ...(snapdVersion ? { snapdVersion } : {}), ...(memoryMiB !== undefined ? { memoryMiB } : {}),
    modules: await kernelModules(ctx, needs.modules),
  };
}

/** Encrypted OSDs: MicroCeph's dm-crypt plug, connected (and the daemon restarted) when it is not. */
async function connectDmCrypt(ctx: StepContext): Promise<void> {
  const ran = await ctx.run('snap', ['connections', 'microceph']);
  // Interface  Plug  Slot  Notes: the slot is "-" while the plug is not connected.
  const row = ran.stdout.split('\n').map((l) => l.trim().split(/\s+/)).find((c) => c[0] === 'dm-crypt');
  if (ran.exitCode === 0 && row?.[2] && row[2] !== '-') return;
  ctx.report('connecting microceph:dm-crypt for encrypted OSDs');
  for (const [args, what] of [[['connect', 'microceph:dm-crypt'], 'connect microceph:dm-crypt'], [['restart', 'microceph.daemon'], 'restart microceph.daemon']] as const) {
    const r = await ctx.run('snap', [...args]);
    if (r.exitCode !== 0) throw new TemporaryFailure(`snap ${what} failed: ${r.stderr.trim()}`);
  }
}

export const formatOutcome = (o: PreflightOutcome): string =>
  o.problems.map((p, i) => `(${i + 1}) ${p}`).join('\n');

export const preflight: Step = {
  id: 'preflight',
  // Once the cluster exists its disks are OSDs and its uplink belongs to OVN: nothing to check.
  isDone: microcloudInitialised,
  async run(ctx) {
    ctx.report('checking this node against its part of the preseed');
    const outcome = checkNode(ctx.config.preflight, await gatherFacts(ctx));
    for (const line of [...outcome.notes, ...outcome.warnings.map((w) => `warning: ${w}`)]) ctx.log.info(`preflight: ${line}`);
    ctx.record({ preflight: outcome });
    if (!outcome.passed) {
      throw new ConfigurationFailure(`preflight found ${outcome.problems.length} problem${outcome.problems.length === 1 ? '' : 's'} `
        + `on this node; nothing was changed, and no node forms the cluster until it passes:\n${formatOutcome(outcome)}`);
    }
    if (ctx.config.preflight.encryptedOsd) await connectDmCrypt(ctx);
  },
};
