// build-image snaps: the cluster's snaps, their prerequisites and their assertions, fetched once
// from the Snap Store into a bundle folder that an offline site installs from (issue 28, part 1).
import { basename, dirname, join } from 'node:path';
import { defaultCacheDir } from '../../build-images.js';
import { ConfigError, type LocatedProblem } from '../../config/problems.js';
import { loadCluster } from '../../config/load-cluster.js';
import { DEFAULT_RETRY, fetcherFor, type RetryPolicy } from '../../image/base/download.js';
import { DownloadError } from '../../image/errors.js';
import { bundleManifest, writeBundle, type BundleFile } from '../../snaps/bundle.js';
import { fetchSnap, isCached } from '../../snaps/fetch-snap.js';
import { CLUSTER_SNAPS, resolveSnaps, type Resolution, type ResolvedSnap } from '../../snaps/resolve-snaps.js';
import { snapAssertions } from '../../snaps/snap-assertions.js';
import { DEFAULT_SNAP_STORE, snapStore } from '../../snaps/store-client.js';
import { TOOL } from '../../tool-version.js';
import { UsageError } from '../errors.js';
import { progressFor, type CliIo, type RunDeps } from '../io.js';
import { parseSnapsArgs, SNAPS_HELP } from './snaps-args.js';

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

/** <cluster-file-dir>/<cluster>-snaps-<arch>: beside the cluster file, like its secrets file. */
export const bundleDir = (config: string, cluster: string, arch: string): string => join(dirname(config), `${cluster}-snaps-${arch}`);

/** $MICROCLOUD_PI_SNAP_STORE (a mirror, or a test double), else the Snap Store. */
export function storeAddress(env: CliIo['env']): string {
  const value = env.MICROCLOUD_PI_SNAP_STORE;
  if (value === undefined || value === '') return DEFAULT_SNAP_STORE;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch { /* said below */ }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.search || url.hash)
    throw new UsageError(`MICROCLOUD_PI_SNAP_STORE=${value} is not an http(s) address. Set it to the store's address `
      + `(e.g. ${DEFAULT_SNAP_STORE}, or a mirror's), or unset it for the Snap Store.`);
  return value.replace(/\/+$/, '');
}

const NOT_FOUND = new Set(['name-not-found', 'id-not-found', 'revision-not-found']);

/** The store's refusals as errors a person can act on: a channel in the cluster file, or the store itself. */
function refusalError(resolution: Extract<Resolution, { ok: false }>, o: { config: string; arch: string; address: string }): Error {
  const cluster = resolution.refused.filter((r) => (CLUSTER_SNAPS as readonly string[]).includes(r.name) && NOT_FOUND.has(r.code));
  if (cluster.length && cluster.length === resolution.refused.length && !resolution.other.length) {
    const problems: LocatedProblem[] = cluster.map((r) => ({
      file: o.config, path: ['microcloud', 'channels', r.name], severity: 'error',
      message: `the Snap Store has no ${r.name} in channel ${r.channel} for ${o.arch} (${r.code}: ${r.message})`,
      hint: r.releases.length
        ? `It has ${r.name} for ${o.arch} in ${r.releases.join(', ')}: set microcloud.channels.${r.name} to one of them, or change microcloud.release.`
        : `Check the channel (track/risk, e.g. 5.21/stable) and that ${r.name} is published for ${o.arch}.`,
    }));
    return new ConfigError(problems);
  }
  const said = [...resolution.refused.map((r) => `${r.name} (${r.channel}): ${r.code}: ${r.message}`), ...resolution.other];
  return new DownloadError(`${o.address}/v2/snaps/refresh`, `the store refused ${said.join('; ')}`);
}

export async function snapsCommand(argv: readonly string[], io: CliIo, deps: Pick<RunDeps, 'sleep' | 'now'> = {}): Promise<number> {
  const options = parseSnapsArgs(argv);
  if (options.help) {
    io.stdout(SNAPS_HELP);
    return 0;
  }
  const { cluster } = await loadCluster(options.config);
  const address = storeAddress(io.env);
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...(deps.sleep ? { sleep: deps.sleep } : {}), ...(deps.now ? { now: deps.now } : {}) };
  const fetcher = fetcherFor(io.env);
  const store = snapStore({ address, arch: options.arch, fetcher, policy, userAgent: `${TOOL.name}/${TOOL.version}` });
  const cacheDir = options.cacheDir ?? defaultCacheDir(io.env);
  const outDir = options.out ?? bundleDir(options.config, cluster.name, options.arch);
  const channels = cluster.microcloud.channels;

  io.stderr(`snaps: asking ${address} for lxd ${channels.lxd}, microceph ${channels.microceph}, microovn ${channels.microovn}, `
    + `microcloud ${channels.microcloud}, snapd and their bases (${options.arch})`);
  const resolution = await resolveSnaps(store, channels);
  if (!resolution.ok) throw refusalError(resolution, { config: options.config, arch: options.arch, address });
  const snaps = resolution.snaps;
  const cached = await Promise.all(snaps.map((s) => isCached(cacheDir, s)));
  const toFetch = snaps.filter((_, i) => !cached[i]);
  io.stderr(`snaps: ${snaps.map((s) => s.name).join(', ')}: ${mib(total(snaps))} in all; `
    + (toFetch.length ? `${toFetch.length} to download (${mib(total(toFetch))}), ${snaps.length - toFetch.length} in the cache` : 'all in the cache'));

  const onProgress = progressFor(io);
  const files: BundleFile[] = [];
  for (const snap of snaps) {
    const fetched = await fetchSnap(snap, { store, fetcher, cacheDir, onProgress, policy });
    const assertions = await snapAssertions(store, snap, fetched.snapRevision);
    io.stderr(`${snap.name} ${snap.channel}: revision ${snap.revision} (${snap.version}), ${mib(snap.download.size)}, `
      + `SHA3-384 checked against the store's answer and its snap-revision${fetched.fromCache ? ' (cached)' : ''}`);
    files.push({ snap, path: fetched.path, assertions });
  }
  await writeBundle(outDir, bundleManifest({ cluster: cluster.name, arch: options.arch, store: address, tool: `${TOOL.name} ${TOOL.version}`, snaps }), files);
  io.stdout(formatBundle(outDir, snaps));
  return 0;
}

const total = (snaps: readonly ResolvedSnap[]) => snaps.reduce((sum, s) => sum + s.download.size, 0);

/** What was written: one line per snap, in install order, then the folder. */
function formatBundle(outDir: string, snaps: readonly ResolvedSnap[]): string {
  const width = Math.max(...snaps.map((s) => s.name.length));
  const rows = snaps.map((s) => `${s.name.padEnd(width)}  ${String(s.revision).padStart(6)}  ${s.channel.padEnd(14)} `
    + `${mib(s.download.size).padStart(10)}  ${s.base ? `on ${s.base}` : ''}`.trimEnd());
  return `${rows.join('\n')}\n${basename(outDir)}: ${snaps.length} snaps, ${mib(total(snaps))}, in ${outDir}\n`;
}
