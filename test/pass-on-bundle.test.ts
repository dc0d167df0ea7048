// Nodes passing their snap bundle on (item 4 of issue 28): the whole first-boot service
// (firstBoot) on FakeHosts, a real bundle made by build-image snaps against the Snap Store TEST
// DOUBLE, the operator's computer a loopback stand-in (test/helpers/bundle-source.ts), and every
// node's own bundle server (bundle-server.ts, started by first-boot.ts) on its loopback address
// and the real BUNDLE_PORT, over real HTTP.
import { createHash } from 'node:crypto';
import { cp, readFile } from 'node:fs/promises';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { localBundleDisk } from '../firstboot/bundle/bundle-disk.js';
import { BUNDLE_PORT } from '../firstboot/bundle/bundle-sources.js';
import { firstBoot, type FirstBootRun } from '../firstboot/first-boot.js';
import { ConfigurationFailure, type Step } from '../firstboot/run/types.js';
import { installSnaps } from '../firstboot/steps/install-snaps.js';
import { BUNDLE_CHANNELS as CHANNELS, bundleForTests, BundleSourceDouble } from './helpers/bundle-source.js';
import { clusterFromText } from './helpers/examples.js';
import { fastClock, KEY, quietLog, rig, type NodeRig } from './helpers/first-boot-rig.js';
import { tempDir } from './helpers/temp-dir.js';

// Addresses of their own on loopback (other test files' nodes use BUNDLE_PORT on theirs).
const ADDRESS = { pi1: '127.0.0.231', pi2: '127.0.0.232', pi3: '127.0.0.233', operator: '127.0.0.239', storeNode: '127.0.0.241' } as const;

const bundle = bundleForTests('passon', ADDRESS, 300 * 1024);

/** Whatever a test left running: closed after it. */
const running: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

/** GET http://HOST:BUNDLE_PORT/PATH: the status and body, or the connection error's code. */
function ask(host: string, path: string): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    get({ host, port: BUNDLE_PORT, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    }).on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
  });
}

/** A step after the install that asks this node's own bundle server for bundle.json while the boot is still walking. */
function askingStep(host: string, seen: unknown[], then?: Error): Step {
  return {
    id: 'preflight', isDone: async () => false,
    async run() {
      seen.push(await ask(host, '/bundle/bundle.json'));
      if (then) throw then;
    },
  };
}

async function startOperator(): Promise<BundleSourceDouble> {
  const operator = new BundleSourceDouble(bundle.dir);
  await operator.listen(ADDRESS.operator, bundle.operatorPort);
  running.push(operator);
  return operator;
}

async function bootNode(r: NodeRig, disk: string, steps: readonly Step[]): Promise<FirstBootRun> {
  const run = await firstBoot({
    config: r.config, run: r.host.run, log: quietLog(r.log), clock: fastClock(), files: r.files,
    readPeer: async () => undefined, sendJoin: async () => undefined, journalPath: r.journalPath,
    listenHost: r.config.address, bundleDisk: localBundleDisk(disk), steps,
  });
  running.push(run);
  return run;
}

const sha3 = async (path: string) => createHash('sha3-384').update(await readFile(path)).digest('hex');
const snapRequests = (source: BundleSourceDouble) => source.requests.filter((r) => r.path.endsWith('.snap'));

describe('a node passes its snap bundle on', () => {
  it('serves it from the end of its install step, and a node that boots after the operator\'s computer is gone takes every file from it', async () => {
    const operator = await startOperator();
    const a = await rig('pi1', bundle.cluster);
    const aDisk = await tempDir('mcpi-passon-a-');
    const seenByA: unknown[] = [];
    const runA = await bootNode(a, aDisk, [installSnaps, askingStep(ADDRESS.pi1, seenByA)]);
    expect(runA.exitCode).toBe(0);
    expect(runA.status().state).toBe('done');
    // While the boot went on (the next step), A already served the bundle.json it had checked and kept.
    expect(seenByA).toEqual([{ status: 200, body: await readFile(join(aDisk, 'bundle.json'), 'utf8') }]);
    expect(runA.bundleServer?.port).toBe(BUNDLE_PORT);
    expect(snapRequests(operator).map((r) => r.path).sort()).toEqual(bundle.manifest.snaps.map((s) => `/bundle/${s.file}`).sort());

    await operator.close(); // the laptop goes home; A is still a member, still serving
    const b = await rig('pi2', bundle.cluster);
    const bDisk = await tempDir('mcpi-passon-b-');
    const runB = await bootNode(b, bDisk, [installSnaps]);
    expect(runB.exitCode).toBe(0);
    expect(b.host.installedFiles).toEqual(bundle.manifest.snaps.map((s) => join(bDisk, s.file)));
    for (const s of bundle.manifest.snaps) {
      expect(await sha3(join(bDisk, s.file))).toBe(s['sha3-384']);
      expect(b.log).toContain(`bundle: ${s.file} from pi1 (${ADDRESS.pi1}), checked`);
      expect(b.log).toContain(`bundle: ${s.assert} from pi1 (${ADDRESS.pi1}), checked`);
    }
    expect(b.log.join('\n')).not.toMatch(/from server \(/);
    expect(b.host.held).toBe(true);
    // B passes it on in turn.
    expect(await ask(ADDRESS.pi2, '/bundle/bundle.json')).toMatchObject({ status: 200 });

    await runA.close();
    expect(await ask(ADDRESS.pi1, '/bundle/bundle.json')).toEqual({ error: 'ECONNREFUSED' });
  });

  it('keeps serving when a later step stops it for a person, and serves before any step on the next start', async () => {
    const operator = await startOperator();
    const a = await rig('pi1', bundle.cluster);
    const disk = await tempDir('mcpi-passon-a-');
    const seen: unknown[] = [];
    const stopped = await bootNode(a, disk, [installSnaps, askingStep(ADDRESS.pi1, seen, new ConfigurationFailure('a person must act'))]);
    expect(stopped.exitCode).toBe(78);
    expect(seen).toEqual([expect.objectContaining({ status: 200 })]);
    expect(await ask(ADDRESS.pi1, `/bundle/${bundle.manifest.snaps[0]!.file}`)).toMatchObject({ status: 200 });
    await stopped.close();
    expect(await ask(ADDRESS.pi1, '/bundle/bundle.json')).toEqual({ error: 'ECONNREFUSED' });

    await operator.close();
    const fetched = operator.requests.length;
    const seenAgain: unknown[] = [];
    const restarted = await bootNode(a, disk, [installSnaps, askingStep(ADDRESS.pi1, seenAgain)]);
    expect(restarted.exitCode).toBe(0);
    expect(seenAgain).toEqual([expect.objectContaining({ status: 200 })]);
    expect(a.log).toContain('step install-snaps: start'); // the first start only: the journal skips it now
    expect(a.log.filter((l) => l === 'step install-snaps: start')).toHaveLength(1);
    expect(operator.requests).toHaveLength(fetched);
  });

  it('logs a port already taken as a warning and boots on', async () => {
    await startOperator();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(BUNDLE_PORT, ADDRESS.pi1, resolve));
    running.push({ close: () => new Promise<void>((resolve) => taken.close(() => resolve())) });
    const a = await rig('pi1', bundle.cluster);
    const run = await bootNode(a, await tempDir('mcpi-passon-a-'), [installSnaps]);
    expect(run.exitCode).toBe(0);
    expect(run.status().state).toBe('done');
    expect(run.bundleServer).toBeUndefined();
    expect(a.log).toContainEqual(expect.stringMatching(
      new RegExp(`^warning: bundle: not serving the snap bundle to peers on ${ADDRESS.pi1.replace(/\./g, '\\.')}:${BUNDLE_PORT}: .*EADDRINUSE`)));
  });

  it('serves nothing on a node of a store-source cluster, even with a bundle in its folder', async () => {
    const storeCluster = clusterFromText(stringify({
      cluster: { name: 'online', domain: 'online.internal' },
      admin: { user: 'ops', ssh_keys: [KEY] },
      network: { subnet: '127.0.0.0/24', gateway: '127.0.0.1', dns: ['127.0.0.1'] },
      nodes: [{ name: 'pi1', address: ADDRESS.storeNode }],
    }));
    const node = await rig('pi1', storeCluster);
    expect(node.config.snapSource).toBeUndefined();
    const disk = await tempDir('mcpi-passon-store-');
    await cp(bundle.dir, disk, { recursive: true });
    const seen: unknown[] = [];
    const run = await bootNode(node, disk, [installSnaps, askingStep(ADDRESS.storeNode, seen)]);
    expect(run.exitCode).toBe(0);
    expect(node.host.snaps.get('microcloud')).toBe(CHANNELS.microcloud); // from the store, at its channel
    expect(run.bundleServer).toBeUndefined();
    expect(seen).toEqual([{ error: 'ECONNREFUSED' }]);
    expect(await ask(ADDRESS.storeNode, '/bundle/bundle.json')).toEqual({ error: 'ECONNREFUSED' });
  });
});
