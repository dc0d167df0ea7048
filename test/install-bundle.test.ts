// The install step from a snap bundle (microcloud.snaps.source: bundle): a real bundle made by
// build-image snaps against the Snap Store TEST DOUBLE, served on loopback by stand-ins for the
// operator's computer and the node's peers (test/helpers/bundle-source.ts), fetched over real
// HTTP onto a real folder, and installed on the snapd TEST DOUBLE (test/doubles/fake-host.ts),
// which refuses a file whose assertion was not acked, as snapd does without --dangerous.
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { planNodeConfig, type NodeConfig } from '../builder/render/node-config.js';
import { localBundleDisk } from '../firstboot/bundle/bundle-disk.js';
import { folderBundleFiles } from '../firstboot/bundle/bundle-files.js';
import { startBundleServer, type FetchEvent } from '../firstboot/bundle/bundle-server.js';
import { FETCH_DEFAULTS } from '../firstboot/bundle/fetch-bundle.js';
import { installFromBundle } from '../firstboot/bundle/install-bundle.js';
import { BUNDLE_PORT, nodeIndexOf, sourceOrder, type BundleSource } from '../firstboot/bundle/bundle-sources.js';
import type { StepContext } from '../firstboot/run/types.js';
import { installSnaps } from '../firstboot/steps/install-snaps.js';
import { FakeFiles, FakeHost, FakeMicroCloud } from './doubles/fake-host.js';
import { BUNDLE_CHANNELS as CHANNELS, bundleClusterText, bundleForTests, BundleSourceDouble } from './helpers/bundle-source.js';
import { clusterFromText } from './helpers/examples.js';
import { cluster as storeCluster, fastClock, quietLog } from './helpers/first-boot-rig.js';
import { tempDir } from './helpers/temp-dir.js';
import type { CommandRunner } from '../builder/command-runner.js';

// Addresses of their own on loopback, so the peers can listen on the real BUNDLE_PORT beside other tests' nodes.
const ADDRESS = { pi1: '127.0.0.201', pi2: '127.0.0.202', pi3: '127.0.0.203', operator: '127.0.0.209' } as const;
const LXD_BYTES = 600 * 1024; // big enough to be cut off mid-way

/** The bundle, made once by the real command from the store double. */
const bundle = bundleForTests('offline', ADDRESS, LXD_BYTES);

interface Site { operator: BundleSourceDouble; peers: Partial<Record<'pi2' | 'pi3', BundleSourceDouble>>; host: FakeHost; disk: string; log: string[]; config: NodeConfig }
let site: Site;
/** Every source a test started: closed after it. */
const listening: BundleSourceDouble[] = [];

/** pi1 about to install, the operator's computer serving the bundle, and the peers named holding it too. */
async function newSite(peersWithBundle: ('pi2' | 'pi3')[] = []): Promise<Site> {
  const operator = new BundleSourceDouble(bundle.dir);
  await operator.listen(ADDRESS.operator, bundle.operatorPort);
  listening.push(operator);
  const peers: Site['peers'] = {};
  for (const name of peersWithBundle) {
    peers[name] = new BundleSourceDouble(bundle.dir);
    await peers[name].listen(ADDRESS[name], BUNDLE_PORT);
    listening.push(peers[name]);
  }
  const config = planNodeConfig(bundle.cluster, 'pi1');
  const host = new FakeHost('pi1', config.address, new FakeMicroCloud(['pi1', 'pi2', 'pi3'], 'pi1'));
  host.files = new FakeFiles();
  return { operator, peers, host, disk: await tempDir('mcpi-node-bundle-'), log: [], config };
}

/** pi1 with no source of ours listening (a test starts the product's server instead). */
async function newSiteWithout(operator: BundleSourceDouble): Promise<Site> {
  const config = planNodeConfig(bundle.cluster, 'pi1');
  const host = new FakeHost('pi1', config.address, new FakeMicroCloud(['pi1', 'pi2', 'pi3'], 'pi1'));
  host.files = new FakeFiles();
  return { operator, peers: {}, host, disk: await tempDir('mcpi-node-bundle-'), log: [], config };
}

afterEach(async () => {
  await Promise.all(listening.splice(0).map((s) => s.close()));
});

function stepContext(s: Site, run: CommandRunner = s.host.run): StepContext {
  return {
    config: s.config, run, log: quietLog(s.log), clock: fastClock(), files: s.host.files!, bundleDisk: localBundleDisk(s.disk),
    readPeer: async () => undefined, sendJoin: async () => undefined, report: () => {}, record: () => {},
  };
}

const cmds = (host: FakeHost) => host.calls.map((c) => `${c.file} ${c.args.join(' ')}`);
const snapRequests = (source: BundleSourceDouble) => source.requests.filter((r) => r.path.endsWith('.snap'));

describe('installing from a snap bundle', () => {
  it('puts microcloud.snaps in node.json only for a bundle, with the default port', () => {
    expect(planNodeConfig(bundle.cluster, 'pi2').snapSource).toEqual({ kind: 'bundle', server: { address: ADDRESS.operator, port: bundle.operatorPort } });
    const defaultPort = clusterFromText(bundleClusterText('offline', ADDRESS, 1).replace(`${ADDRESS.operator}:1`, ADDRESS.operator));
    expect(defaultPort.microcloud.snapSource).toEqual({ kind: 'bundle', server: { address: ADDRESS.operator, port: BUNDLE_PORT } });
    expect('snapSource' in planNodeConfig(storeCluster(1), 'pi1')).toBe(false); // a store cluster's cards stay as they were
  });

  it('checks and acks every file, installs each in bundle order without --dangerous, switches the four to the cluster\'s channels and holds them', async () => {
    site = await newSite();
    await installSnaps.run(stepContext(site));
    const h = site.host;
    const order = bundle.manifest.snaps.map((s) => s.name);
    expect(order).toEqual(['snapd', 'core22', 'core24', 'lxd', 'microceph', 'microovn', 'microcloud']);
    expect(h.acked).toEqual(bundle.manifest.snaps.map((s) => join(site.disk, s.assert)));
    expect(h.installedFiles).toEqual(bundle.manifest.snaps.map((s) => join(site.disk, s.file)));
    // Each ack right before its install: the file's assertion is in snapd before the file is.
    const mutating = cmds(h).filter((c) => /^snap (ack|install|switch|refresh)/.test(c));
    expect(mutating).toEqual([
      ...bundle.manifest.snaps.flatMap((s) => [`snap ack ${join(site.disk, s.assert)}`, `snap install ${join(site.disk, s.file)}`,
        ...(s.role === 'cluster' ? [`snap switch ${s.name} --channel=${CHANNELS[s.name as keyof typeof CHANNELS]}`] : [])]),
      'snap refresh --hold lxd microceph microovn microcloud']);
    expect(cmds(h).some((c) => c.includes('--dangerous') || c.includes('--cohort'))).toBe(false);
    for (const s of bundle.manifest.snaps) expect(h.revisions.get(s.name)).toBe(s.revision);
    expect(Object.fromEntries(['lxd', 'microceph', 'microovn', 'microcloud'].map((n) => [n, h.snaps.get(n)])))
      .toEqual({ lxd: CHANNELS.lxd, microceph: CHANNELS.microceph, microovn: CHANNELS.microovn, microcloud: CHANNELS.microcloud });
    expect(h.snaps.get('core22')).toBe('-'); // prerequisites keep what a file install tracks
    expect(h.held).toBe(true);
    expect(h.certificate).toBeDefined(); // microcloud's daemon made its certificate on install, as from the store
    // The node keeps exactly the bundle (it serves it to its peers later), no partial file.
    expect((await readdir(site.disk)).sort()).toEqual(['bundle.json', ...bundle.manifest.snaps.flatMap((s) => [s.assert, s.file])].sort());
    // No peer had it: every file came from the operator's computer, from this node's own address.
    expect(snapRequests(site.operator).map((r) => r.path).sort()).toEqual(bundle.manifest.snaps.map((s) => `/bundle/${s.file}`).sort());
    expect(new Set(site.operator.requests.map((r) => r.from))).toEqual(new Set([ADDRESS.pi1]));
  });

  it('refuses a corrupt file from the first source, deletes it, and takes that file from another', async () => {
    site = await newSite(['pi2']);
    const lxd = bundle.manifest.snaps.find((s) => s.name === 'lxd')!;
    site.peers.pi2!.corrupt.add(lxd.file);
    await installSnaps.run(stepContext(site));
    expect(site.peers.pi2!.asked(lxd.file)).toHaveLength(1);
    expect(site.operator.asked(lxd.file)).toHaveLength(1);
    // Every other file came from the peer: the operator's computer sent only what the peer could not.
    expect(snapRequests(site.operator).map((r) => r.path)).toEqual([`/bundle/${lxd.file}`]);
    expect(site.log.join('\n')).toMatch(new RegExp(`${lxd.file} from pi2 \\(127\\.0\\.0\\.202\\): its SHA3-384 .* is not the .* its assertion vouches for; deleted`));
    expect(site.host.installedFiles).toContain(join(site.disk, lxd.file)); // snapd found the acked assertion for these bytes
    expect(createHash('sha3-384').update(await readFile(join(site.disk, lxd.file))).digest('hex')).toBe(lxd['sha3-384']);
  });

  it('continues a file from where a source died mid-way, from the next source, with a Range request', async () => {
    site = await newSite(['pi2']);
    const lxd = bundle.manifest.snaps.find((s) => s.name === 'lxd')!;
    site.peers.pi2!.cuts.set(lxd.file, [200_000]);
    await installSnaps.run(stepContext(site));
    const [resumed, ...more] = site.operator.asked(lxd.file);
    expect(more).toEqual([]);
    const from = Number(/^bytes=(\d+)-$/.exec(resumed?.range ?? '')?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(200_000);
    expect(site.log.join("\n")).toMatch(/lxd_31333\.snap from pi2 .*: the connection closed after \d+ of 614400 bytes.*; trying the next source/);
    expect(site.host.installedFiles).toContain(join(site.disk, lxd.file));
  });

  it('spreads its files over the peers that have the bundle, and asks the operator\'s computer for none', async () => {
    site = await newSite(['pi2', 'pi3']);
    await installSnaps.run(stepContext(site));
    expect(snapRequests(site.operator)).toEqual([]);
    const fromPi2 = snapRequests(site.peers.pi2!).length;
    const fromPi3 = snapRequests(site.peers.pi3!).length;
    expect(fromPi2 + fromPi3).toBe(bundle.manifest.snaps.length);
    expect(Math.abs(fromPi2 - fromPi3)).toBeLessThanOrEqual(1);
  });

  it('after a power cut halfway through the installs, finishes on the next start without fetching or installing anything twice', async () => {
    site = await newSite();
    class PowerCut extends Error {}
    const dies: CommandRunner = async (file, args, options) => {
      if (file === 'snap' && args[0] === 'install' && args[1]?.includes('microceph_')) throw new PowerCut('power cut');
      return site.host.run(file, args, options);
    };
    await expect(installSnaps.run(stepContext(site, dies))).rejects.toThrow(PowerCut);
    expect(site.host.installedFiles.map((f) => f.split('/').pop())).toEqual(['snapd_21761.snap', 'core22_1380.snap', 'core24_716.snap', 'lxd_31333.snap']);
    const fetchedBefore = snapRequests(site.operator).length;
    const callsBefore = site.host.calls.length;
    await installSnaps.run(stepContext(site)); // the next start: walk-steps runs the step again (it was never recorded done)
    expect(snapRequests(site.operator)).toHaveLength(fetchedBefore); // every file was kept, checked again on disk
    expect(site.host.installedFiles).toEqual(bundle.manifest.snaps.map((s) => join(site.disk, s.file))); // each once, in order
    const resumed = cmds(site.host).slice(callsBefore).filter((c) => /^snap (ack|install|switch)/.test(c));
    expect(resumed.filter((c) => c.startsWith('snap install')).map((c) => c.split('/').pop()))
      .toEqual(['microceph_1139.snap', 'microovn_667.snap', 'microcloud_1144.snap']);
    expect(site.host.snaps.get('lxd')).toBe(CHANNELS.lxd);
    expect(site.host.held).toBe(true);
    // And once more: nothing left to do but the hold.
    const callsAfter = site.host.calls.length;
    await installSnaps.run(stepContext(site));
    expect(cmds(site.host).slice(callsAfter).filter((c) => /^snap (ack|install|switch)/.test(c))).toEqual([]);
  });

  it('a power cut between a file\'s last byte and its rename: the whole partial file is checked and renamed, not asked for past its end', async () => {
    // Seen in the boot test: node3 cut while fetching snapd kept snapd_N.snap.partial at its full size; asking every source for
    // bytes from its end got 416 from each, on every start, for good.
    site = await newSite();
    const [snapd, core22] = [bundle.manifest.snaps[0]!, bundle.manifest.snaps[1]!];
    for (const s of [snapd, core22]) await writeFile(join(site.disk, s.assert), await readFile(join(bundle.dir, s.assert)));
    await writeFile(join(site.disk, `${snapd.file}.partial`), await readFile(join(bundle.dir, snapd.file))); // whole and right
    const wrong = await readFile(join(bundle.dir, core22.file));
    wrong[0] = wrong[0]! ^ 0xff;
    await writeFile(join(site.disk, `${core22.file}.partial`), wrong); // whole size, wrong bytes
    await installSnaps.run(stepContext(site));
    expect(site.operator.asked(snapd.file)).toEqual([]); // renamed as it was
    expect(site.operator.asked(core22.file).map((r) => r.range)).toEqual([undefined]); // fetched afresh, from its start
    expect(site.host.installedFiles).toEqual(bundle.manifest.snaps.map((s) => join(site.disk, s.file)));
    expect((await readdir(site.disk)).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('a source busy sending to others is asked again after a short pause: a busy round is not a failed one', async () => {
    site = await newSite();
    site.operator.busySnaps = 6; // the only source, at its most uploads for six asks
    const slept: number[] = [];
    const ctx = { ...stepContext(site), clock: { now: () => Date.now(), sleep: async (ms: number) => { slept.push(ms); } } };
    // One round allowed: were a busy round counted, the step would fail at the first.
    await installFromBundle(ctx, ['lxd', 'microceph', 'microovn', 'microcloud'], localBundleDisk(site.disk), { ...FETCH_DEFAULTS, rounds: 1 });
    expect(site.host.installedFiles).toEqual(bundle.manifest.snaps.map((s) => join(site.disk, s.file)));
    expect(slept.length).toBeGreaterThan(0);
    for (const ms of slept) expect([ms, ms >= FETCH_DEFAULTS.busyPauseMs / 2 && ms <= FETCH_DEFAULTS.busyPauseMs * 1.5]).toEqual([ms, true]);
    expect(site.log.join('\n')).not.toMatch(/busy \(HTTP 503\); trying the next source/); // busy is not worth a warning
  });

  it('a source busy for longer than busyLimitMs ends the step for this start, saying so', async () => {
    site = await newSite();
    site.operator.busySnaps = 1_000_000;
    let now = 0;
    const ctx = { ...stepContext(site), clock: { now: () => now, sleep: async (ms: number) => { now += ms; } } };
    await expect(installFromBundle(ctx, ['lxd', 'microceph', 'microovn', 'microcloud'], localBundleDisk(site.disk), { ...FETCH_DEFAULTS, busyLimitMs: 60_000 }))
      .rejects.toThrow(/its sources stayed busy for 1 minutes: snapd_\d+\.snap \(server: busy \(HTTP 503\)\)/);
  });

  it('a kept bundle.json that no source holds any more (the bundle made again after a power cut) is replaced by theirs', async () => {
    site = await newSite();
    const theirs = await readFile(join(bundle.dir, 'bundle.json'), 'utf8');
    const old = JSON.stringify({ ...JSON.parse(theirs), tool: 'an earlier build-image snaps' }, null, 2);
    await writeFile(join(site.disk, 'bundle.json'), old); // the same snaps and channels, other bytes: another listing
    await installSnaps.run(stepContext(site));
    expect(site.log.join('\n')).toMatch(/no source holds the bundle\.json kept here any more; taking a new one/);
    expect(await readFile(join(site.disk, 'bundle.json'), 'utf8')).toBe(theirs);
    expect(site.host.installedFiles).toEqual(bundle.manifest.snaps.map((s) => join(site.disk, s.file)));
  });

  it('deletes a file on disk that no longer has its digest, and fetches it again before snapd sees it', async () => {
    site = await newSite();
    await installSnaps.run(stepContext(site));
    const microovn = bundle.manifest.snaps.find((s) => s.name === 'microovn')!;
    const path = join(site.disk, microovn.file);
    const bytes = await readFile(path);
    bytes[10] = bytes[10]! ^ 1;
    await writeFile(path, bytes);
    site.host.snaps.delete('microovn'); // as if the install had not happened yet
    site.host.revisions.delete('microovn');
    await installSnaps.run(stepContext(site));
    expect(site.operator.asked(microovn.file)).toHaveLength(2);
    expect(site.host.installedFiles.filter((f) => f === path)).toHaveLength(2);
    expect(site.log.join('\n')).toMatch(/microovn_667\.snap on disk no longer has the SHA3-384 its assertion vouches for; deleted/);
  });
});

describe('installing from the product\'s bundle server', () => {
  it('takes every file from bundle-server.ts (as build-image serve runs it) and installs them all', async () => {
    const operator = new BundleSourceDouble(bundle.dir); // the site's shape; this test's server is the real one below
    site = { ...(await newSiteWithout(operator)) };
    const events: FetchEvent[] = [];
    const server = await startBundleServer({ host: ADDRESS.operator, port: bundle.operatorPort, files: folderBundleFiles(bundle.dir),
      onFetch: (e) => events.push(e) });
    try {
      await installSnaps.run(stepContext(site));
    } finally {
      await server.close();
    }
    expect(site.host.installedFiles).toEqual(bundle.manifest.snaps.map((s) => join(site.disk, s.file)));
    expect(site.host.held).toBe(true);
    expect(events.length).toBeGreaterThan(0);
  });
});

describe('the snapd TEST DOUBLE with files', () => {
  it('refuses a snap file whose assertion was not acked, and an ack of a file that is not there, as snapd does', async () => {
    site = await newSite();
    const lxd = join(bundle.dir, bundle.manifest.snaps.find((s) => s.name === 'lxd')!.file);
    expect(await site.host.run('snap', ['install', lxd])).toMatchObject({ exitCode: 1, stderr: `error: cannot find signatures with metadata for snap "${lxd}"` });
    expect(await site.host.run('snap', ['ack', '/nowhere/lxd_1.assert']))
      .toMatchObject({ exitCode: 1, stderr: 'error: cannot assert: open /nowhere/lxd_1.assert: no such file or directory' });
    expect(await site.host.run('snap', ['ack', lxd.replace(/\.snap$/, '.assert')])).toMatchObject({ exitCode: 0 });
    expect(await site.host.run('snap', ['install', lxd])).toMatchObject({ exitCode: 0 });
    expect(await site.host.run('snap', ['switch', 'lxd', '--channel=5.21/stable'])).toMatchObject({ stdout: '"lxd" switched to the "5.21/stable" channel\n' });
    expect(site.host.acked).toHaveLength(1);
  });
});

describe('the order a node asks sources in', () => {
  const peers = (n: number): BundleSource[] => Array.from({ length: n }, (_, i) => ({ name: `pi${i + 1}`, address: `10.0.0.${i + 11}`, port: BUNDLE_PORT, kind: 'peer' }));
  const server: BundleSource = { name: 'server', address: '10.0.0.5', port: BUNDLE_PORT, kind: 'server' };

  it('gives each of ten holders the first request of five of fifty nodes, and puts the operator\'s computer last', () => {
    const names = Array.from({ length: 50 }, (_, i) => `pi${i + 1}`);
    const holders = [...peers(10), server];
    const firsts = new Map<string, number>();
    for (const node of names) {
      const order = sourceOrder(holders, nodeIndexOf({ node, peers: names.filter((n) => n !== node).map((name) => ({ name, address: '' })) }), 0);
      expect(order.at(-1)).toBe(server);
      firsts.set(order[0]!.name, (firsts.get(order[0]!.name) ?? 0) + 1);
    }
    expect([...firsts.values()]).toEqual(Array(10).fill(5));
  });

  it('asks the operator\'s computer when no peer has the bundle', () => {
    expect(sourceOrder([server], 3, 2)).toEqual([server]);
  });
});
