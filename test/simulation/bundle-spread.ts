// A snap bundle spreading over N Pis, in one process: every node runs the product's real fetch
// (fetch-bundle.ts) and its real bundle server passing files on as they arrive (bundle-server.ts,
// serve-kept-bundle.ts), on its own loopback address (127.0.4.1 on), with its files on the real
// disk; the operator's computer is the real server `build-image serve` runs. What is modelled is
// the network: each node's NIC and the operator's link are Links (link.ts) with the speeds,
// crossed by every byte a transfer sends or receives. Sizes are `scale` times smaller than the
// modelled bundle (500 MB by default) and time runs `speedup` times faster, so every figure is in
// model seconds and bytes. Not a model of TCP's start, latency or loss: bandwidth alone.
//
// 'store' is the same N nodes as today without a bundle: each takes its own copy through the site's
// uplink (one source, no cap, nothing passed on).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RELEASE_CHANNELS } from '../../builder/config/channels.js';
import { sha3Base64Url } from '../../builder/snaps/assertion.js';
import { localBundleDisk } from '../../firstboot/bundle/bundle-disk.js';
import { folderBundleFiles, type BundleFiles } from '../../firstboot/bundle/bundle-files.js';
import { BUNDLE_FORMAT, type BundleManifest, type BundleSnap } from '../../firstboot/bundle/bundle-manifest.js';
import { OPERATOR_UPLOADS, startBundleServer, type BundleServer, type FetchEvent } from '../../firstboot/bundle/bundle-server.js';
import { BUNDLE_PORT } from '../../firstboot/bundle/bundle-sources.js';
import { BundleFetch, FETCH_DEFAULTS } from '../../firstboot/bundle/fetch-bundle.js';
import { FilesInFlight } from '../../firstboot/bundle/files-in-flight.js';
import { keptBundleFiles } from '../../firstboot/bundle/serve-kept-bundle.js';
import type { BundleDisk } from '../../firstboot/run/types.js';
import { Link, LINK_MBIT } from './link.js';
import { modelClock } from './model-clock.js';

export const OPERATOR_LINKS = ['ethernet', 'wifi'] as const;
export type OperatorLink = (typeof OPERATOR_LINKS)[number];
export type Source = OperatorLink | 'store';

/** A bundle of the LTS set's shape for arm64 (the store decides the real sizes; nobody here measured them): 500 MB. */
export const BUNDLE_MB: Readonly<Record<string, number>> = {
  snapd: 45, core22: 72, core24: 66, lxd: 150, microceph: 95, microovn: 42, microcloud: 30,
};

export interface SpreadOptions {
  readonly nodes: number;
  readonly source: Source;
  /** Bytes modelled per byte moved (the simulation's files are this much smaller). */
  readonly scale: number;
  readonly speedup: number;
}

export const SPREAD_DEFAULTS = { scale: 100, speedup: 1 } as const;

export interface SpreadResult {
  readonly nodes: number;
  readonly source: Source;
  readonly bundleMB: number;
  /** Model seconds from the start until each node had every file checked, sorted. */
  readonly doneS: readonly number[];
  /** Nodes that got the whole bundle. */
  readonly complete: number;
  /** Bytes the operator's computer (or the store) sent, in full copies of the bundle. */
  readonly sourceCopies: number;
  /** Bytes of .snap files that nodes sent each other, and the part of them sent while the file was still arriving at the sender. */
  readonly peerCopies: number;
  readonly passedOnArrivingCopies: number;
  readonly wallSeconds: number;
}

const MB = 1e6;
const OPERATOR_ADDRESS = '127.0.4.254';
const nodeAddress = (i: number) => `127.0.4.${i + 1}`;
const CHANNELS = RELEASE_CHANNELS[2];

/** The bundle's files, `scale` times smaller, with snap-revision assertions that vouch for them (as the store's do). */
async function writeBundle(dir: string, scale: number): Promise<BundleManifest> {
  await mkdir(dir, { recursive: true });
  const snaps: BundleSnap[] = [];
  let revision = 100;
  for (const [name, mb] of Object.entries(BUNDLE_MB)) {
    const content = randomBytes(Math.round(mb * MB / scale));
    const digest = createHash('sha3-384').update(content).digest('hex');
    const cluster = name in CHANNELS;
    const entry: BundleSnap = {
      name, 'snap-id': `${name}-id`, revision: ++revision, channel: cluster ? CHANNELS[name as keyof typeof CHANNELS] : 'latest/stable',
      base: cluster ? 'core24' : null, type: cluster ? 'app' : name === 'snapd' ? 'snapd' : 'base', version: '1',
      role: cluster ? 'cluster' : 'prerequisite', size: content.length, 'sha3-384': digest, file: `${name}_${revision}.snap`, assert: `${name}_${revision}.assert`,
    };
    await writeFile(join(dir, entry.file), content);
    await writeFile(join(dir, entry.assert), `type: snap-revision\nauthority-id: canonical\nsnap-sha3-384: ${sha3Base64Url(digest)}\n`
      + `snap-id: ${entry['snap-id']}\nsnap-size: ${entry.size}\nsnap-revision: ${entry.revision}\n\nsignature\n`);
    snaps.push(entry);
  }
  const manifest: BundleManifest = { format: BUNDLE_FORMAT, cluster: 'shelf', arch: 'arm64', series: '16', store: 'https://api.snapcraft.io', tool: 'simulation', snaps };
  await writeFile(join(dir, 'bundle.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** A source's files, each byte of a body crossing `up` on its way out. */
function sentThrough(files: BundleFiles, up: Link): BundleFiles {
  return {
    listing: () => files.listing(),
    have: (manifest) => files.have(manifest),
    async open(file) {
      const opened = await files.open(file);
      return opened && { size: opened.size, close: () => opened.close(), read: (start, end) => opened.read(start, end).pipe(up.through()) };
    },
  };
}

/** A node's disk, each byte it takes crossing `down` first. */
function receivedThrough(disk: BundleDisk, down: Link): BundleDisk {
  return {
    ...disk,
    async writer(name, fresh) {
      const inner = await disk.writer(name, fresh);
      return { write: async (chunk) => { await down.cross(chunk.length); await inner.write(chunk); }, close: () => inner.close() };
    },
  };
}

/** An answer's events, told apart from every other server's (each numbers its own). */
type Sent = FetchEvent & { readonly server: string };

/** Body bytes per answer (the last event of each), .snap files only. */
function snapBytes(events: readonly Sent[]): number {
  const last = new Map<string, Sent>();
  for (const e of events) if (e.file.endsWith('.snap')) last.set(`${e.server} ${e.id}`, e);
  return [...last.values()].reduce((sum, e) => sum + e.bytes, 0);
}

export async function spreadBundle(options: SpreadOptions): Promise<SpreadResult> {
  const { nodes, source, scale, speedup } = options;
  const root = await mkdtemp(join(tmpdir(), 'mcpi-spread-'));
  const servers: BundleServer[] = [];
  try {
    const manifest = await writeBundle(join(root, 'operator'), scale);
    const bundleBytes = manifest.snaps.reduce((sum, s) => sum + s.size, 0);
    const store = source === 'store';
    const addresses = Array.from({ length: nodes }, (_, i) => nodeAddress(i));
    const operatorEvents: Sent[] = [];
    const clock = modelClock(speedup);
    // The operator's computer: `build-image serve`'s server. The store: the same files, no cap, through the uplink.
    servers.push(await startBundleServer({
      host: OPERATOR_ADDRESS, port: BUNDLE_PORT, files: sentThrough(folderBundleFiles(join(root, 'operator')), new Link(LINK_MBIT[store ? 'uplink' : source], scale, speedup)),
      onFetch: (e) => operatorEvents.push({ ...e, server: OPERATOR_ADDRESS }), now: clock.now, peers: addresses, maxUploads: store ? Number.MAX_SAFE_INTEGER : OPERATOR_UPLOADS,
    }));
    const peerEvents: Array<Sent & { arriving: boolean }> = [];
    const fetchOptions = { ...FETCH_DEFAULTS, idleMs: FETCH_DEFAULTS.idleMs / speedup };
    const started = performance.now();
    const doneMs: number[] = [];
    const runs = addresses.map(async (address, i) => {
      const dir = join(root, `pi${i + 1}`);
      await mkdir(dir);
      const up = new Link(LINK_MBIT.pi4, scale, speedup);
      const down = new Link(LINK_MBIT.pi4, scale, speedup);
      const inFlight = new FilesInFlight(FETCH_DEFAULTS.idleMs / speedup);
      if (!store) {
        servers.push(await startBundleServer({
          host: address, port: BUNDLE_PORT, files: sentThrough(keptBundleFiles(dir, inFlight), up), peers: addresses, now: clock.now,
          onFetch: (e) => peerEvents.push({ ...e, server: address, arriving: e.state === 'started' && inFlight.names().includes(e.file) }),
        }));
      }
      const config = {
        node: `pi${i + 1}`, address, snaps: CHANNELS,
        peers: store ? [] : addresses.filter((a) => a !== address).map((a) => ({ name: `pi${addresses.indexOf(a) + 1}`, address: a })),
        snapSource: { kind: 'bundle' as const, server: { address: OPERATOR_ADDRESS, port: BUNDLE_PORT } },
      };
      const t = () => ((performance.now() - started) * speedup / 1000).toFixed(2);
      const debug = process.env.SPREAD_DEBUG ? (l: string) => console.error(`${t()} pi${i + 1} ${l}`) : () => {};
      const ctx = { config, clock, log: { info: debug, warn: debug }, report: (d: string) => debug(`report ${d}`) };
      await new BundleFetch(ctx, receivedThrough(localBundleDisk(dir), down), fetchOptions, [], inFlight).fetchAll();
      doneMs.push(performance.now() - started);
      for (const s of manifest.snaps) { // what the node kept is the bundle, byte for byte
        const kept = await readFile(join(dir, s.file));
        if (createHash('sha3-384').update(kept).digest('hex') !== s['sha3-384']) throw new Error(`pi${i + 1}: ${s.file} is not the bundle's`);
      }
    });
    const outcomes = await Promise.allSettled(runs);
    const wallMs = performance.now() - started;
    const arrivingIds = new Set(peerEvents.filter((e) => e.arriving).map((e) => `${e.server} ${e.id}`));
    return {
      nodes, source, bundleMB: Math.round(bundleBytes * scale / MB),
      doneS: doneMs.sort((a, b) => a - b).map((ms) => round(ms * speedup / 1000)),
      complete: outcomes.filter((o) => o.status === 'fulfilled').length,
      sourceCopies: round(snapBytes(operatorEvents) / bundleBytes),
      peerCopies: round(snapBytes(peerEvents) / bundleBytes),
      passedOnArrivingCopies: round(snapBytes(peerEvents.filter((e) => arrivingIds.has(`${e.server} ${e.id}`))) / bundleBytes),
      wallSeconds: round(wallMs / 1000),
    };
  } finally {
    await Promise.all(servers.map((s) => s.close()));
    await rm(root, { recursive: true, force: true, maxRetries: 5 });
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
