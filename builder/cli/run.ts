// build-image, as a function of argv and an environment, returning the exit code.
import { readFile } from 'node:fs/promises';
import { buildImages, defaultCacheDir } from '../build-images.js';
import { writeSeeds, defaultOutDir } from '../build-seeds.js';
import { catalogEntry, defaultCatalogPath } from '../image/catalog.js';
import { execaRunner } from '../image/command-runner.js';
import { nodeFetcher } from '../image/download.js';
import { fetchBaseImage } from '../image/fetch-base-image.js';
import type { ExpectedLabels } from '../image/layout.js';
import { nodeRuntime, runtimePin } from '../image/node-runtime.js';
import { templatesDir } from '../render/templates.js';
import { UsageError } from './errors.js';
import { dirname, join } from 'node:path';
import { stat } from 'node:fs/promises';
import { progressReporter } from './progress-bar.js';
import { loadCluster } from '../config/load-cluster.js';
import { formatProblem } from '../config/problems.js';
import { loadOrCreateSecrets } from '../config/secrets.js';
import { parseBuildArgs, parseFlashArgs, parseStatusArgs } from './args.js';
import { lsblkProbe, type DeviceProbe } from '../flash/device-facts.js';
import { flash } from '../flash/flash-command.js';
import { HELP } from './help.js';
import { collectStatus, formatStatusTable } from '../status.js';
import { readStatus } from '../../firstboot/status/read-status.js';
import type { PeerStatusReader } from '../../firstboot/run/types.js';
import { EXIT, reportError } from './report-error.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (line: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Progress bars are drawn in place only on a terminal. */
  readonly isTTY?: boolean;
  readonly write?: (text: string) => void;
  /** Asks the user a question on a terminal; absent when there is none. */
  readonly confirm?: (question: string) => Promise<string>;
}

/** The world the commands reach, replaceable in tests. */
export interface RunDeps {
  readonly readPeer: PeerStatusReader;
  readonly probe: DeviceProbe;
  readonly beforeReadBack?: () => Promise<void>;
}

export async function run(argv: readonly string[], io: CliIo, overrides: Partial<RunDeps> = {}): Promise<number> {
  const deps: RunDeps = { readPeer: readStatus, probe: lsblkProbe(execaRunner), ...overrides };
  let debug = argv.includes('--debug');
  try {
    if (argv[0] === 'status') return await statusCommand(parseStatusArgs(argv.slice(1)), io, deps.readPeer);
    if (argv[0] === 'flash') {
      const options = parseFlashArgs(argv.slice(1));
      const result = await flash(options, {
        probe: deps.probe, log: io.stderr, ...(io.confirm ? { confirm: io.confirm } : {}),
        onProgress: progressReporter({ isTTY: io.isTTY ?? false, write: io.write ?? ((t) => io.stderr(t.replace(/\n$/, ''))) }),
        ...(deps.beforeReadBack ? { beforeReadBack: deps.beforeReadBack } : {}),
      });
      io.stderr(`Wrote ${result.bytes} bytes to ${options.target} and read them back: SHA-256 ${result.sha256} matches.`);
      io.stdout(`${result.sha256}  ${options.target}\n`);
      return EXIT.ok;
    }
    const options = parseBuildArgs(argv);
    debug = options.debug;
    if (options.help) {
      io.stdout(HELP);
      return EXIT.ok;
    }
    const { cluster, warnings } = await loadCluster(options.config);
    for (const w of warnings) io.stderr(formatProblem(w));
    if (options.check) {
      io.stderr(`${options.config}: valid, ${cluster.nodes.length} node${cluster.nodes.length === 1 ? '' : 's'}.`);
      if (options.json) io.stdout(`${JSON.stringify({ cluster: cluster.name, valid: true, nodes: cluster.nodes.map((n) => n.name) })}\n`);
      return EXIT.ok;
    }
    const nodes = options.all ? cluster.nodes.map((n) => n.name) : options.nodes;
    const { secrets, file: secretsFile, created } = await loadOrCreateSecrets(options.config, {
      ...(io.env.MICROCLOUD_PI_PASSPHRASE !== undefined ? { passphraseFromEnv: io.env.MICROCLOUD_PI_PASSPHRASE } : {}),
    });
    if (created) io.stderr(`Created ${secretsFile} with a new join passphrase (mode 0600). Keep it; never commit it.`);
    const outDir = options.out ?? defaultOutDir(cluster);
    if (!options.seedOnly) {
      const cacheDir = options.cacheDir ?? defaultCacheDir(io.env);
      const onProgress = progressReporter({ isTTY: io.isTTY ?? false, write: io.write ?? ((t) => io.stderr(t.replace(/\n$/, ''))) });
      let baseImage = options.baseImage;
      let labels: ExpectedLabels | undefined;
      let arch = options.arch ?? 'arm64';
      if (!baseImage) {
        const entry = await catalogEntry(options.catalog ?? defaultCatalogPath(), options.image);
        const fetched = await fetchBaseImage(entry, { fetcher: nodeFetcher, run: execaRunner, cacheDir, onProgress, log: io.stderr });
        io.stderr(`base: ${fetched.file} verified against the signed SHA256SUMS${fetched.fromCache ? ' (cached)' : ''}`);
        baseImage = fetched.path;
        labels = entry.labels;
        arch = entry.architecture;
      }
      const firstBoot = {
        bundle: await firstBootBundle(),
        runtime: options.nodeRuntime ?? await nodeRuntime(await runtimePin(arch), cacheDir),
      };
      const images = await buildImages({
        run: execaRunner, cluster, clusterText: await readFile(options.config, 'utf8'), secrets, nodes,
        baseImage, cacheDir, outDir, log: io.stderr, compression: options.compress, ...(labels ? { labels } : {}), firstBoot,
      });
      io.stdout(options.json
        ? `${JSON.stringify({ cluster: cluster.name, images: images.map(({ seconds: _s, ...i }) => i) }, null, 2)}\n`
        : images.map((i) => `${i.path}\n`).join(''));
      return EXIT.ok;
    }
    const builds = await writeSeeds(cluster, secrets, nodes, outDir, (b) =>
      io.stderr(`${b.node}: seed written to ${b.dir}/ (${b.files.join(', ')})`));
    io.stdout(options.json
      ? `${JSON.stringify({ cluster: cluster.name, seeds: builds }, null, 2)}\n`
      : builds.map((b) => `${b.dir}\n`).join(''));
    return EXIT.ok;
  } catch (error) {
    return reportError(error, { debug, stderr: io.stderr });
  }
}

async function statusCommand(options: { config: string; json: boolean }, io: CliIo, readPeer: PeerStatusReader): Promise<number> {
  const { cluster } = await loadCluster(options.config);
  const rows = await collectStatus(cluster, readPeer);
  io.stdout(options.json ? `${JSON.stringify(rows, null, 2)}\n` : formatStatusTable(rows));
  return EXIT.ok;
}

/** The bundled first-boot service, made by `npm run build` (npm ci runs it too). */
async function firstBootBundle(): Promise<string> {
  const bundle = join(dirname(templatesDir()), 'dist', 'firstboot', 'firstboot.mjs');
  if (!(await stat(bundle).then((s) => s.isFile(), () => false)))
    throw new UsageError(`The first-boot service bundle ${bundle} is missing: run npm run build first.`);
  return bundle;
}
