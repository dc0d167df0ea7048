// build-image serve with a bundle that the real `build-image snaps` wrote (against the Snap Store
// TEST DOUBLE), a cluster file whose intra subnet is loopback (127.0.0.0/24: pi1..pi3 are
// 127.0.0.11..13, so a client binding that address is that node), and real files in a temporary
// folder. The command is stopped with an AbortSignal; one test stops the real process with SIGINT.
import { spawn } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { serveCommand, type ServeDeps } from '../builder/cli/commands/serve.js';
import { askSiteTime } from '../firstboot/clock/ask-site-time.js';
import { operatorPublicKey } from '../firstboot/join/join-ticket.js';
import { TEST_OPERATOR_KEY } from './helpers/operator-key.js';
import { snapsCommand } from '../builder/cli/commands/snaps.js';
import { reportError } from '../builder/cli/report-error.js';
import { run } from '../builder/cli/run.js';
import { RELEASE_CHANNELS } from '../builder/config/channels.js';
import type { BundleManifest } from '../firstboot/bundle/bundle-manifest.js';
import { FakeSnapStore, snap } from './doubles/fake-snap-store.js';
import { exampleFile, REPO } from './helpers/examples.js';
import { tempDir } from './helpers/temp-dir.js';

const CHANNELS = RELEASE_CHANNELS[2];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LISTEN = '127.0.0.70';
const anyPort = () => String(20000 + Math.floor(Math.random() * 20000));
/** This computer as the command sees it: a home LAN address, and one in the cluster's subnet. */
const INTERFACES = () => ({
  wlan0: [{ family: 'IPv4' as const, address: '192.168.1.5', netmask: '255.255.255.0', mac: '00:00:00:00:00:01', internal: false, cidr: '192.168.1.5/24' }],
  eth1: [{ family: 'IPv4' as const, address: LISTEN, netmask: '255.255.255.0', mac: '00:00:00:00:00:02', internal: false, cidr: `${LISTEN}/24` }],
});

let dir: string;
let config: string; // microcloud.snaps: {source: bundle, server: LISTEN}, as a site that uses serve has
let storeConfig: string; // the same cluster taking its snaps from the store
let bundle: string; // where snaps writes by default, so serve finds it without --bundle
let manifest: BundleManifest;

beforeAll(async () => {
  const store = new FakeSnapStore([
    snap('snapd', 21761, { type: 'snapd' }), snap('core22', 1380, { type: 'base' }), snap('core24', 716, { type: 'base' }),
    snap('lxd', 31333, { base: 'core22', channels: [CHANNELS.lxd] }), snap('microceph', 1139, { base: 'core22', channels: [CHANNELS.microceph] }),
    snap('microovn', 667, { base: 'core24', channels: [CHANNELS.microovn] }), snap('microcloud', 1144, { base: 'core24', channels: [CHANNELS.microcloud] }),
  ]);
  const address = await store.start();
  dir = await tempDir('mcpi-serve-');
  config = join(dir, 'cluster.yaml');
  const loopback = (await readFile(exampleFile('three-pis-ceph'), 'utf8'))
    .replace('10.20.0.0/24', '127.0.0.0/24').replace(/10\.20\.0\.1(?!\d)/g, '127.0.0.1').replace(/10\.20\.0\.1([1-3])/g, '127.0.0.1$1');
  storeConfig = join(dir, 'store.yaml');
  await writeFile(storeConfig, loopback);
  await writeFile(config, loopback.replace('microcloud:\n', `microcloud:\n  snaps: { source: bundle, server: ${LISTEN} }\n`));
  const io = { stdout: () => undefined, stderr: () => undefined, env: { MICROCLOUD_PI_SNAP_STORE: address, MICROCLOUD_PI_CACHE: join(dir, 'cache') } };
  try {
    expect(await snapsCommand(['--config', storeConfig, '--out', join(dir, 'shelf-snaps-arm64')], io, { sleep: async () => {} })).toBe(0);
  } finally {
    await store.stop();
  }
  bundle = join(dir, 'shelf-snaps-arm64');
  manifest = JSON.parse(await readFile(join(bundle, 'bundle.json'), 'utf8')) as BundleManifest;
});

interface Captured { code: number; stdout: string; stderr: string; writes: string }
/** serveCommand as build-image runs it (errors through the one reporter); `during` runs once it listens, then it is stopped. */
/** serve's environment: the operator key as the secrets file beside a real cluster file gives it, unless the test says otherwise. */
const WITH_OPERATOR_KEY = { MICROCLOUD_PI_OPERATOR_KEY: TEST_OPERATOR_KEY };
async function serve(args: string[], o: { during?: (port: number) => Promise<void>; deps?: Partial<ServeDeps>; tty?: boolean;
  env?: Record<string, string> } = {}): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const writes: string[] = [];
  const io = { stdout: (t: string) => out.push(t), stderr: (l: string) => err.push(l), env: o.env ?? WITH_OPERATOR_KEY, isTTY: o.tty ?? false,
    write: (t: string) => writes.push(t) };
  const stop = new AbortController();
  let failure: unknown;
  const onListening = ({ port }: { port: number }) => {
    void (o.during ?? (async () => {}))(port).catch((e: unknown) => { failure = e; }).finally(() => stop.abort());
  };
  let code: number;
  try {
    code = await serveCommand(args, io, { signal: stop.signal, interfaces: INTERFACES, onListening, redrawMs: 20, ...o.deps });
  } catch (error) {
    code = reportError(error, { debug: false, stderr: io.stderr });
  }
  if (failure) throw failure;
  return { code, stdout: out.join(''), stderr: err.join('\n'), writes: writes.join('') };
}

const get = (port: number, path: string, from: string, host = LISTEN) => new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
  const req = request({ host, port, path, localAddress: from }, (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
  });
  req.on('error', reject);
  req.end();
});

/** Every file of a folder with its size and mtime: what "writes nothing" is checked against. */
const snapshot = async (folder: string) => Promise.all((await readdir(folder)).sort().map(async (f) => {
  const s = await stat(join(folder, f));
  return `${f} ${s.size} ${s.mtimeMs}`;
}));

async function brokenCopy(name: string, breakIt: (copy: string) => Promise<void>): Promise<string> {
  const copy = join(dir, name);
  await rm(copy, { recursive: true, force: true });
  await cp(bundle, copy, { recursive: true });
  await breakIt(copy);
  return copy;
}

describe('build-image serve', () => {
  it('serves the bundle on its intra address by default, names each node that fetches, and stops on a signal, having written nothing', async () => {
    const lxd = manifest.snaps.find((s) => s.name === 'lxd')!;
    const before = await snapshot(bundle);
    let port = 0;
    const r = await serve(['--config', config], {
      during: async (p) => {
        port = p;
        const whole = await get(p, `/bundle/${lxd.file}`, '127.0.0.11');
        expect(whole.status).toBe(200);
        expect(whole.body.equals(await readFile(join(bundle, lxd.file)))).toBe(true);
        expect((await get(p, '/bundle/bundle.json', '127.0.0.99')).status).toBe(200);
        expect((await get(p, '/bundle/../cluster.yaml', '127.0.0.12')).status).toBe(404);
        const time = JSON.parse((await get(p, '/time', '127.0.0.13')).body.toString()) as { now: number };
        expect(time.now).toBe(1_790_000_000_000);
        // A node takes the time only sealed with its cluster's operator key for the nonce it sent (clock/site-time.ts).
        const sealed = await askSiteTime({ address: LISTEN, port: p }, { operatorKey: operatorPublicKey(TEST_OPERATOR_KEY), cluster: 'shelf' },
          { now: () => 1_790_000_000_000, sleep: async () => {} }, '127.0.0.13');
        expect(sealed).toEqual({ ok: true, now: 1_790_000_000_000 });
        await sleep(50);
      },
      deps: { now: () => 1_790_000_000_000 },
    });
    expect(r.stderr).not.toMatch(/unexpected/);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/checking each snap's SHA3-384: 100%/);
    expect(r.stderr).toContain(`${manifest.snaps.length} snaps`);
    expect(port).toBe(8555); // where the cluster file says the nodes ask
    expect(r.stderr).toContain(`at http://${LISTEN}:8555/bundle/`);
    expect(r.stderr).not.toContain('note:');
    expect(r.stdout).toContain(`pi1 (127.0.0.11): ${lxd.file}, `);
    expect(r.stdout).toMatch(new RegExp(`pi1 \\(127\\.0\\.0\\.11\\): ${lxd.file} done, \\d+\\.\\d MiB sent`));
    expect(r.stdout).toContain('127.0.0.99 (not in the cluster file): bundle.json done');
    expect(r.stderr).toMatch(/serve: stopped; .* It wrote nothing/);
    await expect(get(port, '/time', '127.0.0.11')).rejects.toThrow(/ECONNREFUSED/); // it no longer listens
    expect(await snapshot(bundle)).toEqual(before);
    expect((await readdir(dir)).filter((f) => /partial/.test(f))).toEqual([]);
  });

  it('without the operator key it still serves, says the nodes will not take its time, and its /time is not sealed', async () => {
    let reply: Awaited<ReturnType<typeof askSiteTime>> | undefined;
    const r = await serve(['--config', config, '--no-verify'], {
      env: {},
      during: async (p) => {
        reply = await askSiteTime({ address: LISTEN, port: p }, { operatorKey: operatorPublicKey(TEST_OPERATOR_KEY), cluster: 'shelf' },
          { now: () => Date.now(), sleep: async () => {} }, '127.0.0.11');
      },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/serve: note: the time here is not sealed, so the nodes will not take it \(.*cluster\.secrets\.yaml: the file does not exist/);
    expect(reply).toEqual({ ok: false, reason: expect.stringMatching(/not sealed/) });
  });

  it('on a terminal, redraws one line per node: files done out of all, and what it is fetching', async () => {
    const core22 = manifest.snaps.find((s) => s.name === 'core22')!;
    const r = await serve(['--config', config, '--no-verify'], {
      tty: true,
      during: async (p) => {
        await get(p, `/bundle/${core22.file}`, '127.0.0.12');
        await get(p, `/bundle/${core22.assert}`, '127.0.0.12');
        await sleep(100); // a redraw or more
      },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(''); // the view is drawn in place, not printed line by line
    expect(r.stderr).not.toMatch(/SHA3-384: 100%/); // --no-verify
    const frames = r.writes.split('\x1b[H\x1b[2J');
    expect(frames.length).toBeGreaterThan(1);
    expect(r.writes).toContain(`pi2 (127.0.0.12): 2/${manifest.snaps.length * 2} files done`);
  });

  it('without microcloud.snaps.server, serves on this computer\'s address in the subnet and says the nodes will not ask it', async () => {
    let port = 0;
    const r = await serve(['--config', storeConfig, '--port', anyPort(), '--no-verify'], { during: async (p) => { port = p; } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`at http://${LISTEN}:${port}/bundle/`); // the subnet's address, not wlan0's
    expect(r.stderr).toMatch(/note: .*store\.yaml takes the snaps from the store \(microcloud\.snaps\): its nodes will not ask this server/);
  });

  it('refuses to serve where the nodes will not look: the cluster file\'s server address is not this computer\'s (exit 2)', async () => {
    const r = await serve(['--config', config], { deps: { interfaces: () => ({ wlan0: INTERFACES().wlan0 }) } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`the nodes ask ${LISTEN} for the bundle (${config}: microcloud.snaps.server), and this computer does not have that address; it has 192.168.1.5 (wlan0)`);
  });

  it('says when this computer has no address in the cluster\'s subnet, and how to give one (exit 2)', async () => {
    const r = await serve(['--config', storeConfig], { deps: { interfaces: () => ({ wlan0: INTERFACES().wlan0 }) } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no address in the cluster's intra subnet 127\.0\.0\.0\/24 \(.*store\.yaml: network\.subnet\); it has 192\.168\.1\.5 \(wlan0\)/);
    expect(r.stderr).toContain('--listen ADDRESS');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a folder that is no bundle, through build-image itself: exit 2, the folder named, what to give instead', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty, { recursive: true });
    const err: string[] = [];
    const code = await run(['serve', '--config', config, '--bundle', empty, '--listen', LISTEN], { stdout: () => undefined, stderr: (l) => err.push(l), env: {} });
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(new RegExp(`^build-image: --bundle ${empty} has no readable bundle\\.json: it is not a snap bundle\\. Give the folder build-image snaps wrote`, 'm'));
    expect(err.join('\n')).not.toMatch(/\n\s+at /);
  });

  it('lists every missing or wrong-sized file at once (exit 2) and serves nothing', async () => {
    const [a, b] = [manifest.snaps[0]!, manifest.snaps[4]!];
    const copy = await brokenCopy('broken', async (c) => {
      await rm(join(c, a.file));
      await writeFile(join(c, b.file), 'short');
      await rm(join(c, b.assert));
    });
    const r = await serve(['--config', config, '--bundle', copy], { during: async () => { throw new Error('it listened'); } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--bundle ${copy}: 3 problems:`);
    expect(r.stderr).toContain(`${a.file} is missing`);
    expect(r.stderr).toContain(`${b.file} is 5 bytes; bundle.json says ${b.size}`);
    expect(r.stderr).toContain(`${b.assert} is missing`);
    expect(r.stderr).toContain('Write the bundle again with build-image snaps');
  });

  it('refuses a damaged snap of the right size by its SHA3-384, and a bundle for other channels than the cluster file\'s', async () => {
    const lxd = manifest.snaps.find((s) => s.name === 'lxd')!;
    const damaged = await brokenCopy('damaged', async (c) => {
      const bytes = await readFile(join(c, lxd.file));
      bytes[100] = bytes[100]! ^ 0xff;
      await writeFile(join(c, lxd.file), bytes);
    });
    const r = await serve(['--config', config, '--bundle', damaged]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${lxd.file}'s SHA3-384 is not the one bundle.json and its assertion name (the file is damaged)`);

    const release3 = join(dir, 'release3.yaml');
    await writeFile(release3, (await readFile(storeConfig, 'utf8')).replace('release: 2', 'release: 3'));
    const other = await serve(['--config', release3, '--bundle', bundle, '--no-verify', '--port', anyPort()]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(`bundle.json has lxd from ${CHANNELS.lxd}; the cluster file wants ${RELEASE_CHANNELS[3].lxd} (microcloud.channels.lxd)`);
  });

  it('the real process: Ctrl-C (SIGINT) stops it at once with 130 and a line saying nothing is lost', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'builder/cli/main.ts'), 'serve', '--config', config, '--listen', '127.0.0.72',
      '--port', anyPort(), '--no-verify'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const deadline = Date.now() + 20_000;
    while (!stderr.includes('Ctrl-C stops it') && Date.now() < deadline) await sleep(50);
    expect(stderr).toContain('Ctrl-C stops it');
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/serve: stopped; .* It wrote nothing/);
  }, 30_000);
});
