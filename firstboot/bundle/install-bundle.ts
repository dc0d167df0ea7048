// Step 3 from a bundle: every file fetched and checked first (fetch-bundle.ts; from a USB stick in
// the node first, bundle-stick.ts), then, in
// bundle.json's order (snapd, the bases, the cluster's four), `snap ack NAME_REV.assert` and
// `snap install NAME_REV.snap`: never --dangerous, so each is a store snap with its snap-id and
// interface auto-connections, refreshed from the store later. A file install tracks no channel,
// so each of the four is switched to the cluster's channel (`snap switch`, as LXD's own test
// helper does after installing cached snaps: canonical/lxd test/includes/snap.sh install_snap),
// then held, as from the store.
//
// Idempotent after a power cut anywhere: checked files stay on disk (and are hashed again),
// a snap already at its revision is not installed again, a switch or hold is repeated only
// when `snap list` says it is needed. The files stay after the install: the node serves them to
// its peers, and the .snap files still arriving while it fetches (serve-kept-bundle.ts, started
// by first-boot.ts before this step, told what arrives through ctx.arriving).
import { lastLine } from '../run/redact.js';
import { TemporaryFailure, type BundleDisk, type StepContext } from '../run/types.js';
import { localBundleDisk } from './bundle-disk.js';
import { withRisk, type BundleManifest, type BundleSnap } from './bundle-manifest.js';
import { folderBundleFiles } from './bundle-files.js';
import { startBundleServer, type BundleServer } from './bundle-server.js';
import type { BundleSource } from './bundle-sources.js';
import { findBundleStick } from './bundle-stick.js';
import { BundleFetch, FETCH_DEFAULTS, type FetchOptions } from './fetch-bundle.js';
import { join } from 'node:path';

/** The bundle fetched and checked: from a USB stick in this node first when there is one (bundle-stick.ts), then the network. */
async function fetchWithStick(ctx: StepContext, disk: BundleDisk, options: FetchOptions): Promise<BundleManifest> {
  const stick = await findBundleStick(ctx.run, ctx.log, ctx.stickMount);
  let server: BundleServer | undefined;
  try {
    if (stick) {
      // Served to this node itself on its own address, so the stick's files take every check the network's take.
      server = await startBundleServer({ host: ctx.config.address, port: 0, files: folderBundleFiles(stick.dir), peers: [ctx.config.address] })
        .catch((error: Error) => {
          ctx.log.warn(`bundle: not taking the snap bundle from the USB stick ${stick.device}: ${error.message}; asking the network`);
          return undefined;
        });
      if (server) ctx.report(`taking the snap bundle from the USB stick ${stick.device}`);
    }
    const local: BundleSource[] = server ? [{ name: 'USB stick', address: ctx.config.address, port: server.port, kind: 'stick' }] : [];
    return await new BundleFetch(ctx, disk, options, local, ctx.arriving).fetchAll();
  } finally {
    await server?.close();
    await stick?.release();
  }
}

/** `snap list NAME`'s revision and tracking columns, or undefined when it is not installed. */
export async function installedSnap(ctx: StepContext, snap: string): Promise<{ revision: number; tracking: string } | undefined> {
  const ran = await ctx.run('snap', ['list', snap]);
  if (ran.exitCode !== 0) return undefined;
  const row = ran.stdout.split('\n').slice(1).map((l) => l.trim().split(/\s+/)).find((cols) => cols[0] === snap);
  return row ? { revision: Number(row[2]), tracking: row[3] ?? '-' } : undefined;
}

/**
 * Whether `have` will do: the cluster's snaps at exactly the bundle's revision (every member the
 * same), snapd and bases at it or newer (the image may ship a newer snapd; never downgrade it).
 */
const satisfied = (entry: BundleSnap, have: number | undefined): boolean =>
  have !== undefined && (entry.role === 'cluster' ? have === entry.revision : have >= entry.revision);

async function snap(ctx: StepContext, args: string[], what: string): Promise<void> {
  const ran = await ctx.run('snap', args, { timeoutMs: 30 * 60_000 });
  if (ran.exitCode !== 0) throw new TemporaryFailure(`${what} failed: ${lastLine(ran.stderr)}`);
}

export async function installFromBundle(ctx: StepContext, cluster: readonly string[],
  disk: BundleDisk = ctx.bundleDisk ?? localBundleDisk(), options: FetchOptions = FETCH_DEFAULTS): Promise<void> {
  const bundle = await fetchWithStick(ctx, disk, options);
  for (const entry of bundle.snaps) {
    const have = await installedSnap(ctx, entry.name);
    if (!satisfied(entry, have?.revision)) {
      ctx.report(`installing ${entry.name} revision ${entry.revision} from the bundle`);
      const ack = await ctx.run('snap', ['ack', join(disk.dir, entry.assert)]);
      if (ack.exitCode !== 0) {
        // snapd checked the signatures and refused: this copy must not be trusted on the next start either.
        await disk.remove(entry.assert);
        throw new TemporaryFailure(`snap ack ${entry.assert} failed (the file is deleted and fetched again): ${lastLine(ack.stderr)}`);
      }
      await snap(ctx, ['install', join(disk.dir, entry.file)], `snap install ${entry.file}`);
    }
    if (!cluster.includes(entry.name)) continue;
    const channel = withRisk(ctx.config.snaps[entry.name as keyof typeof ctx.config.snaps]);
    if ((await installedSnap(ctx, entry.name))?.tracking !== channel)
      await snap(ctx, ['switch', entry.name, `--channel=${channel}`], `snap switch ${entry.name} --channel=${channel}`);
  }
}
