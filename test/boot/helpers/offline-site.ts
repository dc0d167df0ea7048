// The boot test's offline site: the snap bundle, made by the real `build-image snaps` from the Snap
// Store TEST DOUBLE on this computer's loopback (the guests never see it), and the real
// `build-image serve` run inside the guests' network, where an operator's laptop on the cluster's
// switch would run it.
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { RELEASE_CHANNELS } from '../../../builder/config/channels.js';
import type { BundleManifest } from '../../../firstboot/bundle/bundle-manifest.js';
import { FakeSnapStore, snap } from '../../doubles/fake-snap-store.js';
import type { PrivateNetwork } from './private-network.js';
import { CLI, waitFor } from './watch.js';

/** What the store double offers: snapd, two bases, and the four at the channels of microcloud.release 2 (the boot cluster's). */
const storeSnaps = () => {
  const channels = RELEASE_CHANNELS[2];
  return [
    snap('snapd', 21761, { type: 'snapd' }), snap('core22', 1380, { type: 'base' }), snap('core24', 716, { type: 'base' }),
    snap('lxd', 31333, { base: 'core22', channels: [channels.lxd] }), snap('microceph', 1139, { base: 'core22', channels: [channels.microceph] }),
    snap('microovn', 667, { base: 'core24', channels: [channels.microovn] }), snap('microcloud', 1144, { base: 'core24', channels: [channels.microcloud] }),
  ];
};

export interface Bundle { readonly dir: string; readonly manifest: BundleManifest }

/** `build-image snaps --arch amd64` for `clusterFile` against the store double, into `work/bundle`. */
export async function bundleFromStoreDouble(work: string, clusterFile: string): Promise<Bundle> {
  const store = new FakeSnapStore(storeSnaps());
  const address = await store.start();
  const dir = join(work, 'bundle');
  try {
    await execa(process.execPath, [CLI, 'snaps', '--config', clusterFile, '--arch', 'amd64', '--out', dir, '--cache', join(work, 'snap-cache')],
      { env: { MICROCLOUD_PI_SNAP_STORE: address }, stderr: 'inherit' });
  } finally {
    await store.stop();
  }
  return { dir, manifest: JSON.parse(await readFile(join(dir, 'bundle.json'), 'utf8')) as BundleManifest };
}

/**
 * A copy of the bundle whose every .snap has one byte flipped in its middle: the same size and
 * bundle.json, so `serve --no-verify` serves it, and only a node's SHA3-384 check can tell.
 */
export async function corruptCopy(bundle: Bundle, into: string): Promise<void> {
  await cp(bundle.dir, into, { recursive: true });
  for (const entry of bundle.manifest.snaps) {
    const bytes = await readFile(join(into, entry.file));
    const middle = bytes.length >> 1;
    bytes[middle] = bytes[middle]! ^ 0xff;
    await writeFile(join(into, entry.file), bytes);
  }
}

/** A running `build-image serve` in the guests' network. */
export interface Serving {
  /** Its stdout so far: a line per fetch started and ended ("HH:MM:SS node1 (10.99.0.11): lxd_31333.snap done, ..."). */
  output(): string;
  errors(): string;
  /** Ctrl-C's signal (SIGINT); resolves once it has exited. */
  stop(): Promise<void>;
}

/** Starts `build-image serve ARGS` inside `network` and waits for its banner (it listens then). */
export async function startServe(network: PrivateNetwork, args: readonly string[]): Promise<Serving> {
  const [command, argv] = network.exec(process.execPath, [CLI, 'serve', ...args]);
  const child: ChildProcess = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let exited = false;
  child.stdout!.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { err += chunk.toString(); });
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  try {
    await waitFor(`build-image serve ${args.join(' ')} listening`, 60_000, async () => {
      if (exited) throw new Error(`build-image serve ${args.join(' ')} exited: ${err}`);
      return /^serve: \d+ snaps .* at http:/m.test(err) ? true : undefined;
    }, 200);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    output: () => out,
    errors: () => err,
    stop: async () => {
      if (!exited) child.kill('SIGINT');
      await exit;
    },
  };
}

/** One line of what a node's fetch logged: a file taken from a source, checked, or refused with why. */
export interface FetchLine { readonly file: string; readonly source: string; readonly address: string; readonly refused?: string }

/** The fetch lines of a node's console (fetch-bundle.ts logs each file's source and outcome). */
export function fetchLines(consoleText: string): FetchLine[] {
  return [...consoleText.matchAll(/bundle: (\S+) from (\S+) \(([\d.]+)\)(?:, checked|: ([^\n]*?); trying the next source)/g)]
    .map((m) => ({ file: m[1]!, source: m[2]!, address: m[3]!, ...(m[4] !== undefined ? { refused: m[4] } : {}) }));
}

/**
 * What snapd's record (ci/boot/doubles/snap) must say of a node that installed `manifest` from the
 * files kept in `dir`: each entry acked then installed from its file, in bundle.json's order, the
 * cluster's four switched to their channel, then the hold.
 */
export function expectedSnapdRecord(manifest: BundleManifest, dir: string): string[] {
  const lines = manifest.snaps.flatMap((s) => [`ack ${dir}/${s.assert}`, `install ${dir}/${s.file} ${s.name} ${s.revision}`,
    ...(s.role === 'cluster' ? [`switch ${s.name} ${s.channel.includes('/') ? s.channel : `${s.channel}/stable`}`] : [])]);
  return [...lines, `hold ${manifest.snaps.filter((s) => s.role === 'cluster').map((s) => s.name).join(' ')}`];
}
