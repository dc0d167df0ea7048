// A snap bundle and a source of it on loopback for the first-boot tests. makeBundle: a real bundle,
// made by build-image snaps against the Snap Store TEST DOUBLE, for a cluster of three nodes that
// fetch it from the operator's computer. BundleSourceDouble: GET /bundle/NAME from a folder, with
// Range and an ETag (the SHA3-384 bundle.json lists), as build-image serve and every node answer.
// Not the product's server (firstboot/bundle/bundle-server.ts): a stand-in that can also
// misbehave on purpose: serve a file with one byte flipped, close the connection mid-file, or
// answer busy. It records every request it was sent.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { snapsCommand } from '../../builder/cli/commands/snaps.js';
import { RELEASE_CHANNELS } from '../../builder/config/channels.js';
import type { Cluster } from '../../builder/config/types.js';
import type { BundleManifest } from '../../firstboot/bundle/bundle-manifest.js';
import { fakeSnapContent, FakeSnapStore, snap } from '../doubles/fake-snap-store.js';
import { clusterFromText } from './examples.js';
import { KEY } from './first-boot-rig.js';
import { tempDir } from './temp-dir.js';

/** The channels the bundles here are made at. */
export const BUNDLE_CHANNELS = RELEASE_CHANNELS[2];

/** Loopback addresses of a test file's own (each file listens on the real BUNDLE_PORT on its nodes'). */
export interface BundleSite { readonly pi1: string; readonly pi2: string; readonly pi3: string; readonly operator: string }

/** A cluster file of pi1-pi3 whose snaps come from a bundle the operator's computer serves at serverPort. */
export const bundleClusterText = (name: string, address: BundleSite, serverPort: number): string => stringify({
  cluster: { name, domain: `${name}.internal` },
  admin: { user: 'ops', ssh_keys: [KEY] },
  network: { subnet: '127.0.0.0/24', gateway: '127.0.0.1', dns: ['127.0.0.1'] },
  nodes: (['pi1', 'pi2', 'pi3'] as const).map((node) => ({ name: node, address: address[node] })),
  microcloud: { snaps: { source: 'bundle', server: `${address.operator}:${serverPort}` } },
});

export interface MadeBundle {
  readonly dir: string;
  readonly manifest: BundleManifest;
  /** Free when the bundle was made; the cluster file names it. */
  readonly operatorPort: number;
  readonly cluster: Cluster;
}

/**
 * A bundle made by the real command from the store double (snapd, two bases, the four at
 * BUNDLE_CHANNELS; lxd of lxdBytes, to be cut off mid-way), for cluster `name`. The operator's
 * port is chosen first, so the cluster file can name it.
 */
export async function makeBundle(name: string, address: BundleSite, lxdBytes: number): Promise<MadeBundle> {
  const probe = new BundleSourceDouble('/nonexistent');
  const operatorPort = await probe.listen(address.operator);
  await probe.close();
  const dir = await tempDir(`mcpi-${name}-`);
  const store = new FakeSnapStore([
    snap('snapd', 21761, { type: 'snapd' }), snap('core22', 1380, { type: 'base' }), snap('core24', 716, { type: 'base' }),
    snap('lxd', 31333, { base: 'core22', channels: [BUNDLE_CHANNELS.lxd], content: fakeSnapContent('lxd', 31333, lxdBytes) }),
    snap('microceph', 1139, { base: 'core22', channels: [BUNDLE_CHANNELS.microceph] }),
    snap('microovn', 667, { base: 'core24', channels: [BUNDLE_CHANNELS.microovn] }),
    snap('microcloud', 1144, { base: 'core24', channels: [BUNDLE_CHANNELS.microcloud] }),
  ]);
  const storeAddress = await store.start();
  const text = bundleClusterText(name, address, operatorPort);
  await writeFile(join(dir, 'cluster.yaml'), text);
  const bundleDir = join(dir, 'bundle');
  const stderr: string[] = [];
  const code = await snapsCommand(['--config', join(dir, 'cluster.yaml'), '--out', bundleDir, '--cache', join(dir, 'cache')],
    { stdout: () => {}, stderr: (l) => stderr.push(l), env: { MICROCLOUD_PI_SNAP_STORE: storeAddress } }, { sleep: async () => {} });
  await store.stop();
  if (code !== 0) throw new Error(`build-image snaps failed: ${stderr.join('\n')}`);
  const manifest = JSON.parse(await readFile(join(bundleDir, 'bundle.json'), 'utf8')) as BundleManifest;
  return { dir: bundleDir, manifest, operatorPort, cluster: clusterFromText(text) };
}

export interface SourceRequest { readonly path: string; readonly range?: string; readonly from: string }

/** makeBundle once before the test file's tests (jest's beforeAll): its fields are there when a test runs. */
export function bundleForTests(name: string, address: BundleSite, lxdBytes: number): MadeBundle {
  const made = {} as MadeBundle;
  beforeAll(async () => { Object.assign(made, await makeBundle(name, address, lxdBytes)); });
  return made;
}

export class BundleSourceDouble {
  readonly requests: SourceRequest[] = [];
  /** Files served with one byte flipped. */
  readonly corrupt = new Set<string>();
  /** Files whose next response is cut after this many bytes (one entry per response). */
  readonly cuts = new Map<string, number[]>();
  /** Answer 503 to everything (a laptop at its connection limit). */
  busy = false;
  /** Answer 503 to this many more requests for a .snap (a source sending its most at once: bundle-server.ts MAX_UPLOADS). */
  busySnaps = 0;
  private readonly server: Server;

  constructor(private readonly dir: string) {
    this.server = createServer((req, res) => void this.answer(req.url ?? '/', req.headers.range, req.socket.remoteAddress ?? '', res));
  }

  private async answer(url: string, range: string | undefined, from: string, res: import('node:http').ServerResponse): Promise<void> {
    this.requests.push({ path: url, ...(range ? { range } : {}), from });
    if (this.busy) return void res.writeHead(503).end('busy');
    if (url.endsWith('.snap') && this.busySnaps > 0) {
      this.busySnaps--;
      return void res.writeHead(503, { 'retry-after': '1' }).end('busy: 2 snap files on their way from here; try another source');
    }
    const name = /^\/bundle\/([a-z0-9._-]+)$/.exec(url)?.[1];
    const bytes = name && !name.includes('..') ? await readFile(join(this.dir, name)).catch(() => undefined) : undefined;
    if (!bytes) return void res.writeHead(404).end('not here');
    const body = Buffer.from(bytes);
    if (this.corrupt.has(name!)) body[body.length >> 1] = body[body.length >> 1]! ^ 0xff;
    const etag = `"${createHash('sha3-384').update(bytes).digest('hex')}"`;
    const start = Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1] ?? 0);
    const slice = body.subarray(start);
    res.writeHead(start ? 206 : 200, { 'content-length': slice.length, etag, 'accept-ranges': 'bytes',
      ...(start ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}) });
    const cut = this.cuts.get(name!)?.shift();
    if (cut === undefined) return void res.end(slice);
    res.write(slice.subarray(0, cut), () => setTimeout(() => res.destroy(), 20)); // the source dies mid-file
  }

  async listen(host: string, port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => this.server.once('error', reject).listen(port, host, resolve));
    return (this.server.address() as AddressInfo).port;
  }

  /** Requests for one file (.snap, .assert or bundle.json). */
  asked(file: string): SourceRequest[] {
    return this.requests.filter((r) => r.path === `/bundle/${file}`);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
