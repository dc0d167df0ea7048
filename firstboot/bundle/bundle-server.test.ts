// The bundle server over real sockets on loopback (Linux routes all of 127.0.0.0/8, so each client
// binds its own 127.0.0.x), serving a real bundle folder in a temporary directory: whole files and
// ranges with their headers, nothing that bundle.json does not list (whatever the path tries), the
// clock, the live view's events, and the status endpoint's caps under a flood.
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_FORMAT, type BundleManifest, type BundleSnap } from './bundle-manifest.js';
import { folderBundleFiles } from './bundle-files.js';
import { BUNDLE_LIMITS, startBundleServer, type BundleServer, type BundleServerOptions, type FetchEvent } from './bundle-server.js';

const HOST = '127.0.0.61';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha3 = (data: Uint8Array) => createHash('sha3-384').update(data).digest('hex');
const MiB = 1024 * 1024;

const snapEntry = (name: string, revision: number, content: Buffer): BundleSnap => ({
  name, 'snap-id': `${name}-id`, revision, channel: 'stable', base: null, type: 'app', version: '1', role: 'cluster',
  size: content.length, 'sha3-384': sha3(content), file: `${name}_${revision}.snap`, assert: `${name}_${revision}.assert`,
});
const manifestOf = (snaps: BundleSnap[]): BundleManifest =>
  ({ format: BUNDLE_FORMAT, cluster: 'shelf', arch: 'arm64', series: '16', store: 'https://api.snapcraft.io', tool: 'test', snaps });

const core22 = randomBytes(300 * 1024);
const big = Buffer.alloc(32 * MiB, 7); // more than loopback's buffers hold: a fetch can be cut short
const SECRET = 'not-for-the-network';
let root: string;
let dir: string;
let manifestText: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mcpi-bundle-server-'));
  dir = join(root, 'bundle');
  await mkdir(dir);
  await writeFile(join(root, 'secret.txt'), SECRET); // beside the bundle: what a ../ would reach
  await writeFile(join(dir, 'core22_1380.snap'), core22);
  await writeFile(join(dir, 'core22_1380.assert'), 'type: snap-revision\n\nsig\n');
  await writeFile(join(dir, 'lxd_31333.snap'), big);
  await writeFile(join(dir, 'lxd_31333.assert'), 'type: snap-revision\n\nsig\n');
  await writeFile(join(dir, 'lxd_999.snap'), SECRET); // in the folder, not listed
  manifestText = `${JSON.stringify(manifestOf([snapEntry('core22', 1380, core22), snapEntry('lxd', 31333, big)]), null, 2)}\n`;
  await writeFile(join(dir, 'bundle.json'), manifestText);
});
afterAll(async () => { await rm(root, { recursive: true, force: true }); });

let server: BundleServer | undefined;
const opened: Socket[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) s.destroy();
  await server?.close();
  server = undefined;
});

async function serve(options: Partial<BundleServerOptions> = {}): Promise<number> {
  server = await startBundleServer({ host: HOST, port: 0, files: folderBundleFiles(dir), ...options });
  return server.port;
}

interface Reply { status: number; headers: IncomingHttpHeaders; body: Buffer }
/** One request, the path sent exactly as given (Node's client does not normalise it). */
const fetchRaw = (port: number, path: string, o: { method?: string; headers?: Record<string, string>; from?: string } = {}) =>
  new Promise<Reply>((resolve, reject) => {
    const req = request({ host: HOST, port, path, method: o.method ?? 'GET', headers: o.headers, ...(o.from ? { localAddress: o.from } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('no answer in 5 s')));
    req.end();
  });

describe('serving listed files', () => {
  it('serves bundle.json as written, and a snap whole with its length, a strong ETag (its SHA3-384) and byte ranges offered', async () => {
    const p = await serve();
    const listing = await fetchRaw(p, '/bundle/bundle.json');
    expect(listing.status).toBe(200);
    expect(listing.headers['content-type']).toBe('application/json');
    expect(listing.body.toString()).toBe(manifestText);

    const snap = await fetchRaw(p, '/bundle/core22_1380.snap');
    expect(snap.status).toBe(200);
    expect(snap.headers).toMatchObject({ 'content-length': String(core22.length), etag: `"${sha3(core22)}"`, 'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream' });
    expect(snap.body.equals(core22)).toBe(true);

    const assert = await fetchRaw(p, '/bundle/core22_1380.assert');
    expect(assert.status).toBe(200);
    expect(assert.body.toString()).toBe('type: snap-revision\n\nsig\n');
    expect(assert.headers.etag).toBeUndefined(); // bundle.json gives no digest of it: no ETag rather than a wrong one
  });

  it('answers a byte range with 206 and exactly those bytes, so a node resumes where it stopped', async () => {
    const p = await serve();
    const size = core22.length;
    const cases: Array<[string, number, number]> = [['bytes=1000-', 1000, size - 1], ['bytes=10-19', 10, 19], ['bytes=-100', size - 100, size - 1],
      [`bytes=${size - 5}-${size + 1000}`, size - 5, size - 1]];
    for (const [range, start, end] of cases) {
      const part = await fetchRaw(p, '/bundle/core22_1380.snap', { headers: { range } });
      expect([range, part.status]).toEqual([range, 206]);
      expect(part.headers['content-range']).toBe(`bytes ${start}-${end}/${size}`);
      expect(part.headers['content-length']).toBe(String(end - start + 1));
      expect(part.headers.etag).toBe(`"${sha3(core22)}"`);
      expect(part.body.equals(core22.subarray(start, end + 1))).toBe(true);
    }
  });

  it('416 with the size for a range past the end; the whole file for several ranges or an If-Range that is not its ETag', async () => {
    const p = await serve();
    for (const range of [`bytes=${core22.length}-`, 'bytes=20-10', 'bytes=-0']) {
      const refused = await fetchRaw(p, '/bundle/core22_1380.snap', { headers: { range } });
      expect([range, refused.status, refused.headers['content-range']]).toEqual([range, 416, `bytes */${core22.length}`]);
    }
    const several = await fetchRaw(p, '/bundle/core22_1380.snap', { headers: { range: 'bytes=0-1,5-6' } });
    expect(several.status).toBe(200);
    expect(several.body.equals(core22)).toBe(true);
    const changed = await fetchRaw(p, '/bundle/core22_1380.snap', { headers: { range: 'bytes=100-', 'if-range': '"0000"' } });
    expect(changed.status).toBe(200);
    expect(changed.body.length).toBe(core22.length);
    const same = await fetchRaw(p, '/bundle/core22_1380.snap', { headers: { range: 'bytes=100-', 'if-range': `"${sha3(core22)}"` } });
    expect(same.status).toBe(206);
  });

  it('HEAD gives the headers GET would, and no body', async () => {
    const p = await serve();
    const head = await fetchRaw(p, '/bundle/lxd_31333.snap', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers).toMatchObject({ 'content-length': String(big.length), etag: `"${sha3(big)}"` });
    expect(head.body.length).toBe(0);
    const ranged = await fetchRaw(p, '/bundle/lxd_31333.snap', { method: 'HEAD', headers: { range: 'bytes=100-199' } });
    expect([ranged.status, ranged.headers['content-length'], ranged.headers['content-range']]).toEqual([206, '100', `bytes 100-199/${big.length}`]);
  });

  it('GET /time answers the server\'s clock', async () => {
    const p = await serve({ now: () => 1_790_000_000_123 });
    const time = await fetchRaw(p, '/time');
    expect(time.status).toBe(200);
    expect(JSON.parse(time.body.toString())).toEqual({ now: 1_790_000_000_123 });
  });
});

describe('what a source has, and how many it sends at once', () => {
  it('bundle.json\'s answer (GET or HEAD) lists the files here whole and none arriving, with its SHA3-384 as ETag', async () => {
    const p = await serve();
    for (const method of ['GET', 'HEAD']) {
      const listing = await fetchRaw(p, '/bundle/bundle.json', { method });
      expect(listing.headers.etag).toBe(`"${sha3(Buffer.from(manifestText))}"`);
      expect(String(listing.headers['x-mcpi-bundle-have']).split(' ').sort()).toEqual(['core22_1380.assert', 'core22_1380.snap', 'lxd_31333.assert', 'lxd_31333.snap']);
      expect(listing.headers['x-mcpi-bundle-arriving']).toBe('');
    }
    await truncate(join(dir, 'lxd_31333.snap'), 10); // not its listed size: not had
    try {
      const listing = await fetchRaw(p, '/bundle/bundle.json', { method: 'HEAD' });
      expect(String(listing.headers['x-mcpi-bundle-have']).split(' ')).not.toContain('lxd_31333.snap');
    } finally {
      await writeFile(join(dir, 'lxd_31333.snap'), big);
    }
  });

  it('sends .snap files to at most maxUploads nodes: past that 503 with Retry-After, while listings, assertions and HEADs are still answered', async () => {
    const p = await serve({ maxUploads: 1, uploadGraceMs: 400, peers: ['127.0.0.62', '127.0.0.63'] });
    const held = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request({ host: HOST, port: p, path: '/bundle/lxd_31333.snap', localAddress: '127.0.0.62' }, (res) => { res.pause(); resolve(res); });
      req.on('error', reject);
      req.end();
    });
    expect(held.statusCode).toBe(200); // 32 MiB, not read: on its way for as long as this test holds it
    const busy = await fetchRaw(p, '/bundle/core22_1380.snap', { from: '127.0.0.63' });
    expect([busy.status, busy.headers['retry-after']]).toEqual([503, '1']);
    expect(busy.body.toString()).toMatch(/busy: sending snap files to 1 nodes; try another source/);
    expect((await fetchRaw(p, '/bundle/bundle.json', { from: '127.0.0.63' })).status).toBe(200);
    expect((await fetchRaw(p, '/bundle/core22_1380.assert', { from: '127.0.0.63' })).status).toBe(200);
    expect((await fetchRaw(p, '/bundle/core22_1380.snap', { method: 'HEAD', from: '127.0.0.63' })).status).toBe(200);
    held.destroy(); // gone mid-file: its place is free at once
    await sleep(50);
    const whole = await fetchRaw(p, '/bundle/core22_1380.snap', { from: '127.0.0.62' });
    expect([whole.status, whole.body.equals(core22)]).toEqual([200, true]);
    // A whole file sent: that node's place is kept a moment for its next file, then freed.
    expect((await fetchRaw(p, '/bundle/core22_1380.snap', { from: '127.0.0.63' })).status).toBe(503);
    const next = await fetchRaw(p, '/bundle/core22_1380.snap', { from: '127.0.0.62' });
    expect([next.status, next.body.equals(core22)]).toEqual([200, true]); // the same node, its next file: a chain holds
    await sleep(500);
    const after = await fetchRaw(p, '/bundle/core22_1380.snap', { from: '127.0.0.63' });
    expect([after.status, after.body.equals(core22)]).toEqual([200, true]);
  });

  it('machines that are not the cluster\'s nodes share one place of their own, with no grace: two addresses cannot keep the nodes out', async () => {
    const p = await serve({ maxUploads: 1, uploadGraceMs: 60_000, peers: ['127.0.0.62'] });
    const hold = (from: string) => new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request({ host: HOST, port: p, path: '/bundle/lxd_31333.snap', localAddress: from }, (res) => { res.pause(); resolve(res); });
      req.on('error', reject);
      req.end();
    });
    const stranger = await hold('127.0.0.70');
    expect(stranger.statusCode).toBe(200);
    expect((await fetchRaw(p, '/bundle/core22_1380.snap', { from: '127.0.0.71' })).status).toBe(503); // the strangers' one place is taken
    const node = await fetchRaw(p, '/bundle/core22_1380.snap', { from: '127.0.0.62' });
    expect([node.status, node.body.equals(core22)]).toEqual([200, true]); // a node's place is its own
    stranger.destroy();
    let next: Reply | undefined;
    for (let i = 0; i < 50 && next?.status !== 200; i++) { // no grace for a stranger: freed as soon as its upload ends
      await sleep(20);
      next = await fetchRaw(p, '/bundle/core22_1380.snap', { from: '127.0.0.71' });
    }
    expect(next?.status).toBe(200);
  });

  it('the place is taken before the file is opened: twenty nodes asking at once, one is sent a file', async () => {
    const askers = Array.from({ length: 20 }, (_, i) => `127.0.0.${100 + i}`);
    const p = await serve({ maxUploads: 1, peers: askers });
    const answers = await Promise.all(askers.map((from) => new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request({ host: HOST, port: p, path: '/bundle/lxd_31333.snap', localAddress: from }, (res) => { res.pause(); resolve(res); });
      req.on('error', reject);
      req.end();
    })));
    for (const res of answers) res.destroy(); // only once every asker has its answer: none frees its place early
    expect(answers.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(answers.filter((r) => r.statusCode === 503)).toHaveLength(19);
  });
});

describe('nothing but listed names', () => {
  const tricks = [
    '/bundle/lxd_999.snap', // in the folder, not listed
    '/bundle/../secret.txt', '/bundle/%2e%2e/secret.txt', '/bundle/%2E%2E%2Fsecret.txt', '/bundle/..%2fsecret.txt', '/bundle/..%5csecret.txt',
    '/bundle/..\\secret.txt', '/bundle/\\..\\secret.txt', '/bundle/C:\\secret.txt', '/bundle//etc/passwd',
    '/bundle/./core22_1380.snap', '/bundle/core22_1380.snap/', '/bundle/CORE22_1380.snap', '/bundle/core22_1380.snap%00', '/bundle/core22_1380.snap?x=1',
    `http://${HOST}/bundle/../secret.txt`, '/secret.txt', '/bundle/', '/bundle', '/', '/etc/passwd', '/time/../bundle/lxd_999.snap',
  ];
  it.each(tricks)('404 for %s, and none of its bytes', async (path) => {
    const p = await serve();
    const reply = await fetchRaw(p, path);
    expect(reply.status).toBe(404);
    expect(reply.body.toString()).not.toContain(SECRET);
  });

  it('an absolute path is refused too, as sent and without the encoding', async () => {
    const p = await serve();
    for (const path of [`/bundle/${encodeURIComponent(join(root, 'secret.txt'))}`, `/bundle/${join(root, 'secret.txt')}`]) {
      const reply = await fetchRaw(p, path);
      expect([path, reply.status]).toEqual([path, 404]);
      expect(reply.body.toString()).not.toContain(SECRET);
    }
  });

  it('a bundle.json that lists a name outside its folder is not a listing: nothing is served from it', async () => {
    const evil = join(root, 'evil');
    await mkdir(evil, { recursive: true });
    const entry = { ...snapEntry('core22', 1380, core22), file: '../secret.txt' };
    await writeFile(join(evil, 'bundle.json'), JSON.stringify(manifestOf([entry])));
    server = await startBundleServer({ host: HOST, port: 0, files: folderBundleFiles(evil) });
    for (const path of ['/bundle/../secret.txt', '/bundle/bundle.json', '/bundle/core22_1380.snap']) {
      const reply = await fetchRaw(server.port, path);
      expect([path, reply.status]).toEqual([path, 503]);
      expect(reply.body.toString()).not.toContain(SECRET);
    }
  });

  it('405 with Allow for anything but GET and HEAD, on any path', async () => {
    const p = await serve();
    for (const [method, path] of [['POST', '/bundle/core22_1380.snap'], ['PUT', '/bundle/new.snap'], ['DELETE', '/bundle/bundle.json'], ['POST', '/time']]) {
      const reply = await fetchRaw(p, path!, { method });
      expect([method, reply.status, reply.headers.allow]).toEqual([method, 405, 'GET, HEAD']);
    }
  });

  it('a listed file that is missing here, or not its listed size, is refused so the node tries another source', async () => {
    const broken = join(root, 'broken');
    await mkdir(broken, { recursive: true });
    await writeFile(join(broken, 'bundle.json'), JSON.stringify(manifestOf([snapEntry('core22', 1380, core22), snapEntry('lxd', 31333, big)])));
    await writeFile(join(broken, 'core22_1380.snap'), core22);
    await truncate(join(broken, 'core22_1380.snap'), 1000);
    server = await startBundleServer({ host: HOST, port: 0, files: folderBundleFiles(broken) });
    expect((await fetchRaw(server.port, '/bundle/lxd_31333.snap')).status).toBe(404);
    const short = await fetchRaw(server.port, '/bundle/core22_1380.snap');
    expect(short.status).toBe(503);
    expect(short.body.toString()).toMatch(/1000 bytes, not the 307200/);
  });
});

describe('what a folder copied from elsewhere (a USB stick) may hold', () => {
  it('a listed name that is a symbolic link (to a secret) or a FIFO is not served: 404 at once, and the server goes on', async () => {
    const stick = join(root, 'stick');
    await mkdir(stick, { recursive: true });
    const secret = join(root, 'node.key');
    await writeFile(secret, SECRET);
    await writeFile(join(stick, 'bundle.json'), JSON.stringify(manifestOf([snapEntry('core22', 1380, Buffer.from(SECRET)), snapEntry('lxd', 31333, big)])));
    await symlink(secret, join(stick, 'core22_1380.snap'));
    execFileSync('mkfifo', [join(stick, 'lxd_31333.snap')]);
    server = await startBundleServer({ host: HOST, port: 0, files: folderBundleFiles(stick) });
    const linked = await fetchRaw(server.port, '/bundle/core22_1380.snap');
    expect(linked.status).toBe(404);
    expect(linked.body.toString()).not.toContain(SECRET);
    expect((await fetchRaw(server.port, '/bundle/lxd_31333.snap')).status).toBe(404); // answered, not hung on the FIFO
    expect((await fetchRaw(server.port, '/bundle/bundle.json')).status).toBe(200);
    await server.close();
    // bundle.json itself a link (here to a listing elsewhere): no listing, nothing served.
    const linkedListing = join(root, 'stick-linked');
    await mkdir(linkedListing, { recursive: true });
    await symlink(join(stick, 'bundle.json'), join(linkedListing, 'bundle.json'));
    server = await startBundleServer({ host: HOST, port: 0, files: folderBundleFiles(linkedListing) });
    const listing = await fetchRaw(server.port, '/bundle/bundle.json');
    expect(listing.status).not.toBe(200);
    expect(listing.body.toString()).not.toContain('core22');
  });
});

describe('the live view', () => {
  it('reports a whole fetch: who, which file, bytes as they go, then done with every byte', async () => {
    const events: FetchEvent[] = [];
    let clock = 1000;
    const p = await serve({ onFetch: (e) => events.push(e), now: () => clock++ });
    await fetchRaw(p, '/bundle/core22_1380.snap', { from: '127.0.0.11' });
    await sleep(50);
    expect(events[0]).toMatchObject({ source: '127.0.0.11', file: 'core22_1380.snap', state: 'started', bytes: 0, size: core22.length, length: core22.length });
    expect(events.at(-1)).toMatchObject({ source: '127.0.0.11', file: 'core22_1380.snap', state: 'done', bytes: core22.length });
    expect(events.filter((e) => e.state === 'sending').length).toBeGreaterThan(0);
    expect(new Set(events.map((e) => e.id)).size).toBe(1);
    expect(events.map((e) => e.at)).toEqual([...events.map((e) => e.at)].sort((a, b) => a - b));
  });

  it('reports a fetch the node gave up on as aborted, with the bytes sent until then, and a range from where it started', async () => {
    const events: FetchEvent[] = [];
    const p = await serve({ onFetch: (e) => events.push(e) });
    await new Promise<void>((resolve) => {
      const req = request({ host: HOST, port: p, path: '/bundle/lxd_31333.snap', localAddress: '127.0.0.12', headers: { range: 'bytes=1000-' } }, (res) => {
        res.once('data', () => { req.destroy(); resolve(); });
      });
      req.on('error', () => undefined);
      req.end();
    });
    const deadline = Date.now() + 3000;
    while (!events.some((e) => e.state === 'aborted') && Date.now() < deadline) await sleep(20);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ source: '127.0.0.12', file: 'lxd_31333.snap', state: 'aborted', start: 1000, length: big.length - 1000 });
    expect(last.bytes).toBeGreaterThan(0);
    expect(last.bytes).toBeLessThan(big.length - 1000);
    expect(events.filter((e) => e.state === 'done')).toEqual([]);
  });

  it('a reader that stalls mid-file is closed after the idle limit, and a slow one that keeps reading is not cut by the request timeout', async () => {
    const events: FetchEvent[] = [];
    const p = await serve({ onFetch: (e) => events.push(e), limits: { ...BUNDLE_LIMITS, headersTimeoutMs: 500, requestTimeoutMs: 500, idleTimeoutMs: 700 },
      peers: ['127.0.0.13', '127.0.0.14'] }); // two nodes: a place each
    // Stalls: takes one chunk, then reads nothing.
    const stalled = request({ host: HOST, port: p, path: '/bundle/lxd_31333.snap', localAddress: '127.0.0.13' }, (res) => {
      res.once('data', () => res.pause());
    });
    stalled.on('error', () => undefined);
    stalled.end();
    const started = Date.now();
    // Slow but steady: 32 MiB over about 1.6 s, three times the request timeout.
    const slow = new Promise<number>((resolve, reject) => {
      const req = request({ host: HOST, port: p, path: '/bundle/lxd_31333.snap', localAddress: '127.0.0.14' }, (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => { got += c.length; res.pause(); setTimeout(() => res.resume(), 3); });
        res.on('end', () => resolve(got));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    while (!events.some((e) => e.source === '127.0.0.13' && e.state === 'aborted') && Date.now() - started < 5000) await sleep(20);
    expect(events.find((e) => e.source === '127.0.0.13' && e.state === 'aborted')).toBeDefined(); // not done: the server gave up on it
    expect(Date.now() - started).toBeLessThan(5000);
    stalled.destroy();
    expect(await slow).toBe(big.length);
    expect(events.find((e) => e.source === '127.0.0.14' && e.state === 'done')).toMatchObject({ bytes: big.length });
  });
});

describe('the status endpoint\'s caps', () => {
  const addresses = (first: number, count: number) => Array.from({ length: count }, (_, i) => `127.0.0.${first + i}`);
  const open = (p: number, from: string) => new Promise<Socket>((resolve) => {
    const socket = connect({ host: HOST, port: p, localAddress: from }, () => resolve(socket));
    socket.on('error', () => undefined);
    opened.push(socket);
  });
  const closed = (socket: Socket) => socket.destroyed || socket.readyState === 'closed';

  it('128 idle connections from 16 addresses: a node of the cluster and the operator still fetch; a 9th from one source is refused', async () => {
    const p = await serve({ peers: ['127.0.0.11'] });
    const held: Socket[] = [];
    for (const from of addresses(100, 16)) for (let i = 0; i < 8; i++) held.push(await open(p, from));
    await sleep(200);
    expect(held.filter(closed)).toHaveLength(0);
    const [peer, operator] = await Promise.all([fetchRaw(p, '/bundle/core22_1380.snap', { from: '127.0.0.11' }),
      fetchRaw(p, '/bundle/bundle.json', { from: '127.0.0.200' })]);
    expect(peer.body.equals(core22)).toBe(true);
    expect(operator.status).toBe(200);
    await sleep(100);
    expect(held.filter(closed)).toHaveLength(1); // the operator's connection took the oldest idle one's place
    expect(closed(held[0]!)).toBe(true);
    const ninth = await open(p, '127.0.0.101'); // that source holds its 8 already
    await sleep(200);
    expect(closed(ninth)).toBe(true);
    expect(held.filter(closed)).toHaveLength(1); // refused outright: nobody was closed to make room for it
  });

  it('a connection that sends nothing is closed after the idle limit', async () => {
    const p = await serve({ limits: { ...BUNDLE_LIMITS, idleTimeoutMs: 300 } });
    const idle = await open(p, '127.0.0.120');
    const closedInTime = await new Promise<boolean>((r) => { idle.once('close', () => r(true)); setTimeout(() => r(false), 2500); });
    expect(closedInTime).toBe(true);
  });
});
