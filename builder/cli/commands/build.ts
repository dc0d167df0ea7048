// build-image --config FILE (--node N | --all) [--seed-only | --image ID | --base-image FILE [--image ID]]
import { readFile, stat } from 'node:fs/promises';
import { buildImages, defaultCacheDir } from '../../build-images.js';
import { firstBootFolder, type FirstBootSources } from '../../first-boot-folder.js';
import { BOOT_FOLDER } from '../../render/install-command.js';
import { defaultOutDir, writeSeeds } from '../../build-seeds.js';
import { loadCluster } from '../../config/load-cluster.js';
import { formatProblem } from '../../config/problems.js';
import { loadOrCreateSecrets } from '../../config/secrets.js';
import type { Cluster, ClusterSecrets } from '../../config/types.js';
import type { SeedOptions, TicketIssue } from '../../render/node-config.js';
import { requirePrograms } from '../../host-programs/find-programs.js';
import { programsForBuild } from '../../host-programs/programs.js';
import { xzCompressor } from '../../image/codecs.js';
import { sha256Hex } from '../../image/hash-file.js';
import { catalogEntry, defaultCatalogPath, isDownloadable, type CatalogEntry } from '../../image/base/catalog.js';
import { fetcherFor } from '../../image/base/download.js';
import { registryFetcher } from '../../image/base/npm-registry.js';
import { sweepStaleLeftovers } from '../../output/leftovers.js';
import { fetchBaseImage } from '../../image/base/fetch-base-image.js';
import type { ExpectedLabels } from '../../image/base/layout.js';
import { nodeRuntime, runtimePin } from '../../image/base/node-runtime.js';
import { fromPackageRoot } from '../../package-root.js';
import type { BuildOptions } from '../args.js';
import { UsageError } from '../errors.js';
import { HELP } from '../help.js';
import { progressFor, type CliIo, type RunDeps } from '../io.js';
import { checkInputFile, checkOutFolder } from './build-paths.js';
import { lookAtOutFolder, undoUnpublishedRun } from './undo-refused.js';

export async function buildCommand(options: BuildOptions, io: CliIo, deps: Pick<RunDeps, 'programPath' | 'now'>): Promise<number> {
  if (options.help) {
    io.stdout(HELP);
    return 0;
  }
  const { cluster, warnings } = await loadCluster(options.config);
  for (const w of warnings) io.stderr(formatProblem(w));
  if (options.check) {
    io.stderr(`${options.config}: valid, ${cluster.nodes.length} node${cluster.nodes.length === 1 ? '' : 's'}.`);
    if (options.json) io.stdout(`${JSON.stringify({ cluster: cluster.name, valid: true, nodes: cluster.nodes.map((n) => n.name) })}\n`);
    return 0;
  }
  const nodes = options.all ? cluster.nodes.map((n) => n.name) : options.nodes;
  // Resolved and checked before anything is written, the secrets file included.
  const base = await resolveBase(options, io, deps.programPath);
  const outDir = options.out ?? defaultOutDir(cluster);
  await checkPaths(options, outDir);
  const outBefore = await lookAtOutFolder(outDir);
  const { secrets, file: secretsFile, created, addedOperatorKey } = await loadOrCreateSecrets(options.config, {
    ...(io.env.MICROCLOUD_PI_PASSPHRASE !== undefined ? { passphraseFromEnv: io.env.MICROCLOUD_PI_PASSPHRASE } : {}),
    ...(io.env.MICROCLOUD_PI_OPERATOR_KEY !== undefined ? { operatorKeyFromEnv: io.env.MICROCLOUD_PI_OPERATOR_KEY } : {}),
  });
  if (created) io.stderr(`Created ${secretsFile} with a new join passphrase and operator key (mode 0600). Keep it; never commit it.`);
  const createdSecrets = created ? { file: secretsFile, text: await readFile(secretsFile, 'utf8') } : undefined;
  try {
    if (addedOperatorKey)
      io.stderr(`Added an operator key to ${secretsFile} (mode 0600): it signs each card's join ticket. Keep it with the passphrase.`);
    if (!secrets.operatorKey)
      io.stderr('warning: MICROCLOUD_PI_OPERATOR_KEY is not set: these cards carry no join ticket, and members built from them check '
        + 'none, so any card of this cluster can add a machine under any name. Set it to the operator_key of the cluster\'s secrets file.');
    // Issued now, passed in: rendering stays a pure function of config, key and this moment.
    const ticket: TicketIssue | undefined = secrets.operatorKey
      ? { operatorKey: secrets.operatorKey, issuedMs: ticketTime(io, (deps.now ?? Date.now)(), cluster.microcloud.joinTicketDays) } : undefined;
    const seedOptions: SeedOptions = { replace: options.replace, ...(ticket ? { ticket } : {}) };
    return await (options.seedOnly
      ? seeds(cluster, secrets, nodes, outDir, options, io, base, seedOptions)
      : images(cluster, secrets, nodes, outDir, options, io, base, seedOptions));
  } catch (error) {
    // Refused (a base that is no Pi image, a failed download...) before any card was written: nothing of this run stays.
    const removed = await undoUnpublishedRun({ outDir, outBefore, ...(createdSecrets ? { createdSecrets } : {}) });
    if (removed.length) io.stderr(`Removed ${removed.join(' and ')} again: this run wrote no card.`);
    throw error;
  }
}

/** --out, --base-image and --node-runtime name what they should, before anything is written. */
async function checkPaths(options: BuildOptions, outDir: string): Promise<void> {
  await checkOutFolder(outDir, options.out !== undefined ? '--out' : 'The output folder');
  if (options.baseImage)
    await checkInputFile('--base-image', options.baseImage, 'an Ubuntu Server raspi image (.img or .img.xz)', /\.img(\.xz)?$/,
      'or leave --base-image out to download one');
  if (options.nodeRuntime)
    await checkInputFile('--node-runtime', options.nodeRuntime, 'a node binary for the image\'s architecture (bin/node of a Node.js release)',
      /^node$/, 'or leave --node-runtime out to fetch the pinned one');
}

/**
 * When this build issues its tickets: now, or MICROCLOUD_PI_TICKET_TIME (ISO 8601 or ms), so that
 * two builds of the same inputs give the same bytes (a release rebuilt, tests that compare builds).
 */
function ticketTime(io: CliIo, nowMs: number, days: number): number {
  const given = io.env.MICROCLOUD_PI_TICKET_TIME;
  if (given === undefined) return nowMs;
  const ms = /^\d+$/.test(given) ? Number(given) : Date.parse(given);
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > 8.64e15)
    throw new UsageError(`MICROCLOUD_PI_TICKET_TIME ${given} is not a time: give it as 2026-11-23T12:00:00Z or in ms since 1970.`);
  if (ms + days * 86_400_000 <= nowMs)
    io.stderr(`warning: MICROCLOUD_PI_TICKET_TIME ${given} gives join tickets that have expired already: no member will add these cards.`);
  else if (ms > nowMs + 5 * 60_000)
    io.stderr(`warning: MICROCLOUD_PI_TICKET_TIME ${given} is in the future: members refuse these cards until then.`);
  return ms;
}

interface BaseChoice {
  /** The catalog entry named (or defaulted), when the image is one of the catalog's. */
  readonly entry?: CatalogEntry;
  readonly arch: string;
  readonly cacheDir: string;
}

/** Which base and architecture this build uses (--seed-only: which runtime), and every program that takes (checked now). */
async function resolveBase(options: BuildOptions, io: CliIo, programPath: string): Promise<BaseChoice> {
  const cacheDir = options.cacheDir ?? defaultCacheDir(io.env);
  let entry: CatalogEntry | undefined;
  let arch = options.arch ?? 'arm64';
  // --image names the base (its labels, its architecture); without --base-image it is downloaded.
  if (options.image || (!options.baseImage && !options.seedOnly)) {
    entry = await catalogEntry(options.catalog ?? defaultCatalogPath(), options.image);
    if (options.arch && options.arch !== entry.architecture)
      throw new UsageError(`--arch ${options.arch} contradicts --image ${entry.id}, which is ${entry.architecture}: drop --arch.`);
    if (!options.baseImage && !options.seedOnly && !isDownloadable(entry))
      throw new UsageError(`${entry.id} is built on this machine (${entry.builtBy}), not downloaded: build it, `
        + `then give it with --base-image FILE --image ${entry.id}.`);
    arch = entry.architecture;
  }
  await requirePrograms(programsForBuild({
    seedOnly: options.seedOnly,
    download: !options.baseImage && !options.seedOnly,
    xzBase: options.baseImage?.endsWith('.xz') ?? false,
    compression: options.compress,
    ...(options.compress === 'xz' ? { xzInProcess: await xzCompressor() !== 'xz program' } : {}),
  }), programPath);
  return { ...(entry ? { entry } : {}), arch, cacheDir };
}

async function seeds(cluster: Cluster, secrets: ClusterSecrets, nodes: readonly string[], outDir: string,
  options: BuildOptions, io: CliIo, { arch, cacheDir }: BaseChoice, seedOptions: SeedOptions): Promise<number> {
  const configSha256 = sha256Hex(await readFile(options.config, 'utf8'));
  const folder = await firstBootFolder({ cluster, configSha256, cacheDir, sources: await firstBootSources(options, arch, cacheDir, io) });
  const builds = await writeSeeds({ cluster, secrets, nodes, outDir, folder, configSha256, configFile: options.config, seedOptions,
    log: io.stderr,
    onNode: (b) => io.stderr(`${b.node}: ${b.dir}/ holds what goes onto its card's system-boot drive (${b.files.filter((f) => !f.includes('/')).join(', ')}, ${BOOT_FOLDER}/)`) });
  io.stdout(options.json
    ? `${JSON.stringify({ cluster: cluster.name, seeds: builds }, null, 2)}\n`
    : builds.map((b) => `${b.dir}\n`).join(''));
  return 0;
}

async function images(cluster: Cluster, secrets: ClusterSecrets, nodes: readonly string[], outDir: string,
  options: BuildOptions, io: CliIo, { entry, arch, cacheDir }: BaseChoice, seedOptions: SeedOptions): Promise<number> {
  let baseImage = options.baseImage;
  let baseSha256: string | undefined;
  const labels: ExpectedLabels | undefined = entry?.labels;
  if (entry && !baseImage && isDownloadable(entry)) {
    const fetched = await fetchBaseImage(entry, { fetcher: fetcherFor(io.env), cacheDir, onProgress: progressFor(io), log: io.stderr });
    io.stderr(`base: ${fetched.file} verified against the signed SHA256SUMS${fetched.fromCache ? ' (cached)' : ''}`);
    baseImage = fetched.path;
    baseSha256 = fetched.sha256;
  } else if (entry) {
    io.stderr(`base: ${baseImage}, taken as ${entry.id} (${entry.architecture}${entry.test ? ', a test stand-in' : ''})`);
  }
  const firstBoot = await firstBootSources(options, arch, cacheDir, io);
  const built = await buildImages({
    cluster, clusterText: await readFile(options.config, 'utf8'), configFile: options.config, secrets, nodes, seedOptions,
    baseImage: baseImage!, cacheDir, outDir, log: io.stderr, compression: options.compress, ...(labels ? { labels } : {}), firstBoot,
    compressWhole: options.compressWhole, ...(baseSha256 ? { baseSha256 } : {}), onProgress: progressFor(io),
  });
  io.stdout(options.json
    ? `${JSON.stringify({ cluster: cluster.name, images: built.map(({ seconds: _s, ...i }) => i) }, null, 2)}\n`
    : built.map((i) => `${i.path}\n`).join(''));
  return 0;
}

/** The bundled first-boot service (made by `npm run build`; npm ci runs it too) and the runtime for `arch`. */
async function firstBootSources(options: BuildOptions, arch: string, cacheDir: string, io: CliIo): Promise<FirstBootSources> {
  const bundle = fromPackageRoot('dist', 'firstboot', 'firstboot.mjs');
  if (!(await stat(bundle).then((s) => s.isFile(), () => false)))
    throw new UsageError(`The first-boot service bundle ${bundle} is missing: run npm run build first.`);
  if (options.nodeRuntime) return { bundle, runtime: options.nodeRuntime };
  // Watched before the fetch: Ctrl-C during it removes its temporaries in the cache too.
  for (const path of await sweepStaleLeftovers(cacheDir)) io.stderr(`removed ${path}, left by an interrupted build`);
  const pin = await runtimePin(arch);
  return { bundle, runtime: await nodeRuntime(pin, cacheDir, registryFetcher(fetcherFor(io.env), io.env, undefined, progressFor(io))) };
}
