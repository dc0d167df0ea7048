// A build stopped by SIGINT, SIGTERM or SIGHUP at several moments exits 130/143/129 and leaves
// no temporary behind; the rebuild gives the same images as an uninterrupted build. Temporaries
// of a process killed with -9 are removed by the next build, and nothing else is touched.
// The runtime fetch is held by a TEST DOUBLE of the npm registry that sends half the tarball and
// waits. The runtime's archive is made in process: that moment is its temporary appearing in the
// cache (that case's runtime double is 20 MB of random bytes, so gzip takes a second or two).
// Compression is in process too (node-liblzma): that moment is a chunk's temporary appearing in
// the chunk cache, which the case empties first. The FAT edits and a node's copy are in
// process too, and quick; they leave their temporaries under the same marked names every case
// checks. The workspaces share one cache.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { appendFile, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../builder/cli/run.js';
import { programSearchPath } from '../builder/command-runner.js';
import { exampleFile, REPO } from './helpers/examples.js';
import { fakeNodeRuntime, makeRaspiImage } from './helpers/raspi-fixture.js';
import { TEST_ISSUED_MS, TEST_OPERATOR_KEY } from './helpers/operator-key.js';
import { tempDir } from './helpers/temp-dir.js';
import { packageTarball, startRegistryDouble, type RegistryDouble } from './helpers/npm-registry-double.js';

afterAll(async () => { await registry?.close(); });

const REAL = programSearchPath(process.env.PATH);
// Join tickets are issued at the build's moment unless this fixes it: the rebuilds must match the reference.
const TICKET_TIME = { MICROCLOUD_PI_TICKET_TIME: String(TEST_ISSUED_MS) };
type Moment = 'runtime fetch' | 'runtime archive' | 'compression';
let baseImage: string;
let registry: RegistryDouble;
let runtime: string;
/** For the runtime archive moment only: the rebuild that must match the reference uses `runtime`. */
let bigRuntime: string;
let reference: string;
let sharedCache: string;
beforeAll(async () => {
  sharedCache = await tempDir('mcpi-interrupt-cache-');
  // The pinned package, as far as the build gets before it is stopped: half a tarball.
  const pin = JSON.parse(await readFile(join(REPO, 'images', 'node-runtime.json'), 'utf8')).arm64 as { package: string; version: string };
  registry = await startRegistryDouble({ [`${pin.package}@${pin.version}`]: await packageTarball({ 'package/bin/node': randomBytes(1 << 20) }) });
  registry.stallTarball = true;
  baseImage = await makeRaspiImage('interrupt-base');
  runtime = await fakeNodeRuntime();
  bigRuntime = await fakeNodeRuntime();
  await appendFile(bigRuntime, randomBytes(20 * 1024 * 1024)); // gzip takes a second or two: a moment to stop it in
  const ws = await workspace();
  expect(await run(argsFor(ws, true), { stdout: () => {}, stderr: () => {}, env: TICKET_TIME })).toBe(0);
  reference = await readFile(join(ws.out, 'SHA256SUMS'), 'utf8');
}, 180_000);

async function workspace() {
  const dir = await tempDir('mcpi-interrupt-');
  await cp(exampleFile('three-pis-ceph'), join(dir, 'cluster.yaml'));
  // A fixed passphrase and operator key so every build of this file gives the same bytes.
  await writeFile(join(dir, 'cluster.secrets.yaml'),
    `session_passphrase: interrupted-build-test-0123456789\noperator_key: ${TEST_OPERATOR_KEY}\n`, { mode: 0o600 });
  return { dir, config: join(dir, 'cluster.yaml'), out: join(dir, 'out'), cache: sharedCache };
}

const argsFor = (ws: { config: string; out: string; cache: string }, withRuntime: boolean | string) => [
  '-c', ws.config, '--all', '--base-image', baseImage, '--compress', 'xz', '--cache', ws.cache, '-o', ws.out,
  ...(withRuntime ? ['--node-runtime', withRuntime === true ? runtime : withRuntime] : []),
];

/** Every path under `dir` whose name carries a temporary's mark. */
function partials(dir: string, pid?: number): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    let entries;
    try { entries = readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      if (/\.partial-\d+/.test(e.name) && (pid === undefined || e.name.includes(`.partial-${pid}`))) found.push(join(d, e.name));
      else if (e.isDirectory()) walk(join(d, e.name));
    }
  };
  walk(dir);
  return found;
}

/** Waits for `path` to exist (for `*.partial`: any temporary in its folder), or `came` to say so, while the build runs. */
async function waitFor(path: string, child: ReturnType<typeof spawn>, came: () => boolean = () => false, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  const name = path.split('/').pop()!;
  const seen = (n: string) => (name.endsWith('.partial') ? n.includes('.partial-') : n === name);
  while (Date.now() < deadline) {
    let names: string[] = [];
    try { names = readdirSync(join(path, '..')); } catch { /* not made yet */ }
    if (names.some(seen) || came()) return;
    if (child.exitCode !== null) throw new Error(`the build ended (exit ${child.exitCode}) before the moment came`);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the moment ${path} never came`);
}

const CASES: [Moment, NodeJS.Signals, number][] = [
  ['runtime fetch', 'SIGINT', 130], ['runtime archive', 'SIGTERM', 143], ['compression', 'SIGINT', 130],
  ['compression', 'SIGHUP', 129], ['runtime archive', 'SIGHUP', 129], ['runtime fetch', 'SIGTERM', 143],
];

const ARCHIVES = (cache: string) => join(cache, 'node-runtime', 'archives');

describe('an interrupted build', () => {
  it.each(CASES)('stopped during the %s by %s exits %d, leaves nothing, and rebuilds identically', async (moment, signal, code) => {
    const ws = await workspace();
    registry.requests.length = 0;
    // Compressed chunks are cached by content: drop them so this build must compress again.
    if (moment === 'compression') await rm(join(ws.cache, 'chunks'), { recursive: true, force: true });
    const mark = moment === 'runtime archive' ? join(ARCHIVES(ws.cache), 'archive.partial')
      : moment === 'compression' ? join(ws.cache, 'chunks', 'xz', 'chunk.partial') : join(ws.dir, 'moment');
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'builder', 'cli', 'main.ts'),
      ...argsFor(ws, moment === 'runtime archive' ? bigRuntime : moment !== 'runtime fetch')],
    { env: { ...process.env, ...TICKET_TIME, PATH: REAL, npm_config_registry: registry.url }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr += String(d); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    await waitFor(mark, child, () => moment === 'runtime fetch' && registry.requests.some((r) => r.endsWith('.tgz')));
    if (moment !== 'runtime fetch') expect(partials(ws.out).length + partials(ws.cache).length).toBeGreaterThan(0);
    child.kill(signal);
    expect(await exited).toBe(code);
    expect(stderr).toMatch(new RegExp(`${signal}: stopped`));
    expect(partials(ws.dir)).toEqual([]);
    expect(partials(ws.cache)).toEqual([]);
    expect(partials(tmpdir(), child.pid)).toEqual([]);

    const again = await run(argsFor(ws, true), { stdout: () => {}, stderr: () => {}, env: TICKET_TIME });
    expect(again).toBe(0);
    expect(await readFile(join(ws.out, 'SHA256SUMS'), 'utf8')).toBe(reference);
    expect([...partials(ws.dir), ...partials(ws.cache)]).toEqual([]);
  }, 180_000);
});

describe('temporaries of a build that was killed outright', () => {
  it('are removed by the next build; a live process\'s and unrelated files stay', async () => {
    const ws = { ...(await workspace()), cache: await tempDir('mcpi-stale-cache-') };
    const dead = spawn('true');
    await new Promise((r) => dead.on('exit', r));
    const alive = spawn('sleep', ['60']);
    try {
      await mkdir(join(ws.out), { recursive: true });
      await mkdir(join(ws.cache, 'chunks'), { recursive: true });
      const stale = [join(ws.out, `.pi1.img.xz.partial-${dead.pid}`), join(ws.out, `.prepared-base.partial-${dead.pid}`),
        join(ws.cache, 'chunks', `abc.xz.partial-${dead.pid}-3`)];
      const kept = [join(ws.out, `.pi9.img.partial-${alive.pid}`), join(ws.out, 'notes.partial.txt'), join(ws.out, 'README')];
      for (const path of [...stale, ...kept]) await writeFile(path, 'x');
      const lines: string[] = [];
      expect(await run(argsFor(ws, true), { stdout: () => {}, stderr: (l) => lines.push(l), env: {} })).toBe(0);
      for (const path of stale) expect(lines).toContain(`removed ${path}, left by an interrupted build`);
      expect(partials(ws.dir).sort()).toEqual([join(ws.out, `.pi9.img.partial-${alive.pid}`)]);
      for (const path of kept) expect(await readFile(path, 'utf8')).toBe('x');
    } finally {
      alive.kill();
    }
  }, 180_000);
});
