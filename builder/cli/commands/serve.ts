// build-image serve: the bundle build-image snaps wrote, served read-only to the cluster's nodes on
// the intra network, with the site's clock, and a live view of who fetched what (issue 28, item 3).
// It writes nothing, so stopping it at any moment loses nothing.
import { networkInterfaces } from 'node:os';
import { folderBundleFiles } from '../../../firstboot/bundle/bundle-files.js';
import { BUNDLE_PREFIX, OPERATOR_UPLOADS, startBundleServer, type BundleServer, type FetchEvent } from '../../../firstboot/bundle/bundle-server.js';
import { TIME_PATH } from '../../../firstboot/clock/site-time.js';
import { loadCluster } from '../../config/load-cluster.js';
import { loadOperatorKey } from '../../config/secrets.js';
import type { Secret } from '../../config/types.js';
import { checkBundle, type HashProgress } from '../../serve/check-bundle.js';
import { FetchView } from '../../serve/fetch-view.js';
import { listenAt, type Interfaces } from '../../serve/listen-address.js';
import { UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { parseServeArgs, SERVE_HELP } from './serve-args.js';
import { bundleDir } from './snaps.js';

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
/** Clear the screen and go home: one frame in place of the last (as status --watch). */
const REDRAW = '\x1b[H\x1b[2J';

export interface ServeDeps {
  /** Stops serving when aborted, and the command returns 0 (tests). Without it, Ctrl-C ends the process (exit 130). */
  readonly signal?: AbortSignal;
  /** This computer's addresses (os.networkInterfaces). */
  readonly interfaces?: () => Interfaces;
  /** The clock served at /time and shown in the view. */
  readonly now?: () => number;
  /** Called once it listens (tests learn the port). */
  readonly onListening?: (where: { host: string; port: number }) => void;
  /** How often a terminal's view is redrawn when something changed. */
  readonly redrawMs?: number;
}

function hashProgress(io: CliIo): HashProgress {
  let shown = -1;
  return ({ bytes, total, done }) => {
    const percent = Math.floor((bytes / Math.max(1, total)) * 100);
    const step = io.isTTY && io.write ? 1 : 10;
    if (!done && Math.floor(percent / step) <= shown) return;
    shown = done ? -1 : Math.floor(percent / step);
    const line = `serve: checking each snap's SHA3-384: ${done ? 100 : percent}% (${mib(bytes)} / ${mib(total)})`;
    if (io.isTTY && io.write) io.write(`\r\x1b[2K${line}${done ? '\n' : ''}`);
    else io.stderr(line);
  };
}

async function listen(start: () => Promise<BundleServer>, where: { host: string; port: number }): Promise<BundleServer> {
  try {
    return await start();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const at = `${where.host} port ${where.port}`;
    if (code === 'EADDRINUSE') throw new UsageError(`${at} is in use (another serve?). Stop that one, or give --port N.`);
    if (code === 'EADDRNOTAVAIL') throw new UsageError(`--listen ${where.host} is not an address of this computer. Give one it has on the cluster's network.`);
    if (code === 'EACCES') throw new UsageError(`${at}: this system lets only root listen on port ${where.port}. Give --port above 1023.`);
    throw error;
  }
}

/**
 * The operator key that seals /time: an offline site's nodes take this computer's clock only under
 * it (site-time.ts). Without it serve still serves the bundle, and says where the time then comes from.
 */
async function timeSealKey(clusterFile: string, io: CliIo): Promise<Secret | undefined> {
  try {
    const fromEnv = io.env.MICROCLOUD_PI_OPERATOR_KEY;
    return await loadOperatorKey(clusterFile, fromEnv !== undefined ? { operatorKeyFromEnv: fromEnv } : {});
  } catch (error) {
    io.stderr(`serve: note: the time here is not sealed, so the nodes will not take it (${(error as Error).message.split('\n')[0]}). `
      + 'Without NTP they agree on the initiator\'s clock instead.');
    return undefined;
  }
}

export async function serveCommand(argv: readonly string[], io: CliIo, deps: ServeDeps = {}): Promise<number> {
  const options = parseServeArgs(argv);
  if (options.help) {
    io.stdout(SERVE_HELP);
    return 0;
  }
  const { cluster } = await loadCluster(options.config);
  const dir = options.bundle ?? bundleDir(options.config, cluster.name, 'arm64');
  const chosen = listenAt(cluster, (deps.interfaces ?? networkInterfaces)(), options.config,
    { ...(options.listen !== undefined ? { listen: options.listen } : {}), ...(options.port !== undefined ? { port: options.port } : {}) });
  if (options.verify) io.stderr(`serve: checking the bundle in ${dir} (--no-verify skips reading each snap's SHA3-384)`);
  const checked = await checkBundle(dir, cluster, { verify: options.verify, onHash: hashProgress(io) });
  for (const note of [...checked.notes, ...chosen.notes]) io.stderr(`serve: note: ${note}`);

  const view = new FetchView(cluster, checked.manifest.snaps.length * 2);
  const tty = io.isTTY === true && io.write !== undefined;
  let changed = true;
  const onFetch = (event: FetchEvent) => {
    const line = view.apply(event);
    changed = true;
    if (line && !tty) io.stdout(`${line}\n`);
  };
  const now = deps.now ?? Date.now;
  const operatorKey = await timeSealKey(options.config, io);
  const server = await listen(() => startBundleServer({
    host: chosen.address, port: chosen.port, files: folderBundleFiles(dir), peers: cluster.nodes.map((n) => n.address), onFetch, now,
    maxUploads: OPERATOR_UPLOADS,
    ...(operatorKey ? { timeSeal: { operatorKey, cluster: cluster.name } } : {}),
  }), { host: chosen.address, port: chosen.port });
  const url = `http://${chosen.address.includes(':') ? `[${chosen.address}]` : chosen.address}:${server.port}`;
  const banner = `serve: ${checked.manifest.snaps.length} snaps (${mib(checked.totalBytes)}) from ${dir} at ${url}${BUNDLE_PREFIX}, `
    + `the time at ${url}${TIME_PATH}, for ${cluster.name}'s ${cluster.nodes.length} nodes. Ctrl-C stops it: it writes nothing, so nothing is lost.`;
  io.stderr(banner);
  deps.onListening?.({ host: chosen.address, port: server.port });

  const redraw = tty ? setInterval(() => {
    if (!changed) return;
    changed = false;
    io.write!(`${REDRAW}${banner}\n${new Date(now()).toISOString()}\n${view.frame()}`);
  }, deps.redrawMs ?? 500) : undefined;
  const summary = () => `serve: stopped; ${mib(view.bytesServed)} sent in finished fetches. It wrote nothing: run it again to serve the same bundle.`;
  const onSignal = () => io.stderr(summary()); // said before the process exits (130) on Ctrl-C
  if (!deps.signal) {
    process.prependListener('SIGINT', onSignal);
    process.prependListener('SIGTERM', onSignal);
  }
  try {
    await new Promise<void>((resolve) => {
      if (deps.signal?.aborted) resolve();
      deps.signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    if (redraw) clearInterval(redraw);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await server.close();
  }
  if (tty) io.write!(view.frame());
  io.stderr(summary());
  return 0;
}
