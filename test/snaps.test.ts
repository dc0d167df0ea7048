// build-image snaps against the Snap Store TEST DOUBLE on loopback: the real command, real files
// in a temporary folder, the real HTTP client. What the bundle holds, what the cache saves, and
// every way a file can fail its check ending with the file named, removed, and a non-zero exit.
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { snapsCommand } from '../builder/cli/commands/snaps.js';
import { reportError } from '../builder/cli/report-error.js';
import { RELEASE_CHANNELS } from '../builder/config/channels.js';
import { assertionHeaders } from '../builder/snaps/assertion.js';
import type { BundleManifest } from '../firstboot/bundle/bundle-manifest.js';
import { FakeSnapStore, snap, STORE_KEY } from './doubles/fake-snap-store.js';
import { exampleFile } from './helpers/examples.js';
import { tempDir } from './helpers/temp-dir.js';

const CHANNELS = RELEASE_CHANNELS[2]; // the example's microcloud.release
const sha3 = (data: Uint8Array) => createHash('sha3-384').update(data).digest();

/** A store whose microcloud runs on a base none of the others uses, and which also has a base nobody needs. */
const storeSnaps = () => [
  snap('snapd', 21761, { type: 'snapd' }),
  snap('core22', 1380, { type: 'base' }),
  snap('core24', 716, { type: 'base' }),
  snap('core26', 12, { type: 'base' }),
  snap('core18', 2829, { type: 'base' }),
  snap('lxd', 31333, { base: 'core22', channels: [CHANNELS.lxd] }),
  snap('microceph', 1139, { base: 'core22', channels: [CHANNELS.microceph] }),
  snap('microovn', 667, { base: 'core24', channels: [CHANNELS.microovn], publisher: 'ovn-team' }),
  snap('microcloud', 1144, { base: 'core26', channels: [CHANNELS.microcloud] }),
];

async function site() {
  const store = new FakeSnapStore(storeSnaps());
  const address = await store.start();
  const dir = await tempDir('mcpi-snaps-');
  const config = join(dir, 'cluster.yaml');
  await cp(exampleFile('three-pis-ceph'), config);
  const env = { MICROCLOUD_PI_SNAP_STORE: address, MICROCLOUD_PI_CACHE: join(dir, 'cache') };
  return { store, address, dir, config, env, cache: join(dir, 'cache'), out: join(dir, 'shelf-snaps-arm64') };
}
type Site = Awaited<ReturnType<typeof site>>;

/** The command as build-image runs it: errors through the one reporter, retries without waiting. */
async function cli(s: Site, args: string[] = ['--config', s.config], env: Record<string, string> = s.env) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io = { stdout: (t: string) => stdout.push(t), stderr: (l: string) => stderr.push(l), env };
  let code: number;
  try {
    code = await snapsCommand(args, io, { sleep: async () => {} });
  } catch (error) {
    code = reportError(error, { debug: false, stderr: io.stderr });
  }
  return { code, stdout: stdout.join(''), stderr: stderr.join('\n') };
}

const manifest = async (out: string): Promise<BundleManifest> => JSON.parse(await readFile(join(out, 'bundle.json'), 'utf8')) as BundleManifest;
const cacheFiles = async (cache: string) => (await readdir(cache, { recursive: true }).catch(() => [] as string[])).map(String).sort();

describe('build-image snaps', () => {
  let s: Site;
  beforeEach(async () => { s = await site(); });
  afterEach(async () => { await s.store.stop(); });

  it('bundles the four snaps at the cluster\'s channels, snapd, and exactly the bases the store\'s answers name', async () => {
    const result = await cli(s);
    expect(result.stderr).not.toMatch(/unexpected/);
    expect(result.code).toBe(0);
    const m = await manifest(s.out);
    expect(m).toMatchObject({ format: 1, cluster: expect.any(String), arch: 'arm64', series: '16', store: s.address });
    expect(m.snaps.map((x) => [x.name, x.channel, x.base, x.role])).toEqual([
      ['snapd', 'stable', null, 'prerequisite'],
      ['core22', 'stable', null, 'prerequisite'],
      ['core24', 'stable', null, 'prerequisite'],
      ['core26', 'stable', null, 'prerequisite'], // only microcloud names it: read from the answer, not a list
      ['lxd', CHANNELS.lxd, 'core22', 'cluster'],
      ['microceph', CHANNELS.microceph, 'core22', 'cluster'],
      ['microovn', CHANNELS.microovn, 'core24', 'cluster'],
      ['microcloud', CHANNELS.microcloud, 'core26', 'cluster'],
    ]);
    for (const entry of m.snaps) {
      const served = s.store.snaps.get(entry.name)!;
      expect(entry).toMatchObject({ 'snap-id': served.snapId, revision: served.revision, version: served.version, size: served.content.length,
        'sha3-384': sha3(served.content).toString('hex'), file: `${entry.name}_${served.revision}.snap`, assert: `${entry.name}_${served.revision}.assert` });
      expect(await readFile(join(s.out, entry.file))).toEqual(served.content);
    }
    expect((await readdir(s.out)).sort()).toEqual(['bundle.json', ...m.snaps.flatMap((x) => [x.assert, x.file])].sort());
    expect(await readdir(s.dir)).toEqual(expect.not.arrayContaining([expect.stringMatching(/partial/)]));
    expect(result.stdout).toMatch(/microcloud\s+1144\s+2\/stable.*on core26/);

    // The store was asked as snapd asks it.
    const refreshes = s.store.requests.filter((r) => r.path === '/v2/snaps/refresh');
    expect(refreshes).toHaveLength(2); // the four and snapd, then the bases they named
    expect(refreshes[0]!.headers).toMatchObject({ 'snap-device-architecture': 'arm64', 'snap-device-series': '16', 'content-type': 'application/json' });
    expect(JSON.parse(refreshes[0]!.body!)).toMatchObject({ context: [], actions: [
      { action: 'download', 'instance-key': 'download-1', name: 'snapd', channel: 'stable' },
      { action: 'download', 'instance-key': 'download-2', name: 'lxd', channel: CHANNELS.lxd },
      { action: 'download', name: 'microceph' }, { action: 'download', name: 'microovn' }, { action: 'download', name: 'microcloud' }] });
    expect(JSON.parse(refreshes[1]!.body!).actions.map((a: { name: string }) => a.name)).toEqual(['core22', 'core24', 'core26']);
    expect(s.store.downloads('core18')).toEqual([]);
  });

  it('writes each .assert as snap download does: account-key, account, snap-declaration, snap-revision, tied to the file', async () => {
    expect((await cli(s)).code).toBe(0);
    const text = await readFile(join(s.out, 'microovn_667.assert'), 'utf8');
    const parts = text.split(/\n\n(?=type: )/);
    expect(parts.map((p) => assertionHeaders(p).get('type'))).toEqual(['account-key', 'account', 'snap-declaration', 'snap-revision']);
    expect(assertionHeaders(parts[0]!).get('public-key-sha3-384')).toBe(STORE_KEY);
    expect(assertionHeaders(parts[1]!).get('account-id')).toBe('ovn-team');
    const revision = assertionHeaders(parts[3]!);
    expect(revision.get('snap-sha3-384')).toBe(sha3(await readFile(join(s.out, 'microovn_667.snap'))).toString('base64url'));
    expect(revision.get('snap-revision')).toBe('667');
    // Canonical's own account and root key are built into snapd: never fetched, never written.
    const lxd = (await readFile(join(s.out, 'lxd_31333.assert'), 'utf8')).split(/\n\n(?=type: )/).map((p) => assertionHeaders(p).get('type'));
    expect(lxd).toEqual(['account-key', 'snap-declaration', 'snap-revision']);
    expect(s.store.requests.filter((r) => r.path.startsWith('/v2/assertions/account/canonical'))).toEqual([]);
  });

  it('sends no request for a file the cache has', async () => {
    expect((await cli(s)).code).toBe(0);
    const first = s.store.downloads().length;
    expect(first).toBe(8);
    const again = await cli(s);
    expect(again.code).toBe(0);
    expect(s.store.downloads()).toHaveLength(first);
    expect(again.stderr).toMatch(/all in the cache/);
    expect((await manifest(s.out)).snaps).toHaveLength(8);
    expect(await readFile(join(s.out, 'lxd_31333.snap'))).toEqual(s.store.snaps.get('lxd')!.content);
  });

  it('continues a download cut mid-file with a Range request, within the run', async () => {
    s.store.cuts.set('lxd', [5000]);
    const result = await cli(s);
    expect(result.code).toBe(0);
    expect(s.store.downloads('lxd').map((r) => r.range)).toEqual([undefined, 'bytes=5000-']);
    expect(await readFile(join(s.out, 'lxd_31333.snap'))).toEqual(s.store.snaps.get('lxd')!.content);
  });

  it('continues, in the next run, a download an earlier run gave up on', async () => {
    s.store.cuts.set('microceph', [3000, 3000, 3000, 3000]); // every retry of the first run is cut
    const first = await cli(s);
    expect(first.code).toBe(4);
    expect(first.stderr).toMatch(/Could not download .*microceph_1139\.snap.*run the same command again: it resumes/);
    await expect(stat(s.out)).rejects.toThrow();
    const second = await cli(s);
    expect(second.code).toBe(0);
    expect(s.store.downloads('microceph').map((r) => r.range)).toEqual([undefined, 'bytes=3000-', 'bytes=6000-', 'bytes=9000-', 'bytes=12000-']);
    expect(await readFile(join(s.out, 'microceph_1139.snap'))).toEqual(s.store.snaps.get('microceph')!.content);
  });

  it('refuses a file whose SHA3-384 is not the store\'s answer: named, removed, exit 5, no bundle', async () => {
    s.store.corrupt.add('microovn');
    const result = await cli(s);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(new RegExp(`microovn_667\\.snap: SHA3-384 [0-9a-f]{96} does not match ${sha3(s.store.snaps.get('microovn')!.content).toString('hex')}.*removed`));
    expect((await cacheFiles(s.cache)).filter((f) => f.includes(sha3(s.store.snaps.get('microovn')!.content).toString('hex')))).toEqual([]);
    expect((await cacheFiles(s.cache)).filter((f) => f.endsWith('.partial'))).toEqual([]);
    await expect(stat(s.out)).rejects.toThrow();
  });

  it('refuses a file the store\'s answer vouches for but no snap-revision assertion does: named, removed, exit 5', async () => {
    s.store.lies.add('microcloud');
    const result = await cli(s);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/microcloud_1144\.snap: the store has no snap-revision assertion for its SHA3-384 .*removed/);
    const lie = sha3(s.store.served('microcloud')).toString('hex');
    expect((await cacheFiles(s.cache)).filter((f) => f.includes(lie))).toEqual([]);
    await expect(stat(s.out)).rejects.toThrow();
  });

  it('points at the cluster file\'s channel when the store has no such release, and lists the channels it has', async () => {
    s.store.refuse.set('microceph', { code: 'revision-not-found', message: 'No revision was found in the requested channel' });
    const result = await cli(s);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cluster\.yaml: microcloud\.channels\.microceph: the Snap Store has no microceph in channel squid\/stable for arm64.*It has microceph for arm64 in squid\/stable/);
    expect(s.store.downloads()).toEqual([]);
  });

  it('names a prerequisite the store refuses, exit 4', async () => {
    s.store.refuse.set('core24', { code: 'name-not-found', message: 'No snap named core24' });
    const result = await cli(s);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/v2\/snaps\/refresh: the store refused core24 \(stable\): name-not-found/);
  });

  it('prints its usage for --help and asks no store', async () => {
    const result = await cli(s, ['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: build-image snaps --config FILE \[--arch arm64\|amd64\] \[--out DIR\]/);
    expect(result.stdout).toMatch(/Exit codes:[\s\S]*5 {2}a file failed its SHA3-384 check/);
    expect(s.store.requests).toEqual([]);
  });

  it.each([
    ['an unknown option', ['--config', 'x', '--archh', 'arm64'], {}, /Unknown option '--archh'\. Did you mean --arch\?/],
    ['an architecture it does not build for', ['--arch', 'riscv64'], {}, /--arch riscv64 is not one of arm64, amd64/],
    ['a store address that is not http(s)', [], { MICROCLOUD_PI_SNAP_STORE: 'ftp://mirror' }, /MICROCLOUD_PI_SNAP_STORE=ftp:\/\/mirror is not an http\(s\) address/],
  ])('refuses %s with exit 2', async (_what, args, env, message) => {
    const result = await cli(s, args.length ? args : ['--config', s.config], { ...s.env, ...env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(s.store.requests).toEqual([]);
  });

  it('refuses an --out folder that holds something other than a bundle, and leaves it as it was', async () => {
    const out = join(s.dir, 'mine');
    await mkdir(out);
    await writeFile(join(out, 'notes.txt'), 'keep me');
    const result = await cli(s, ['--config', s.config, '--out', out]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--out .*mine holds files and no bundle\.json/);
    expect(await readdir(out)).toEqual(['notes.txt']);
  });
});
