// The endpoint's connection caps against a flood, over real sockets on loopback (Linux routes all
// of 127.0.0.0/8, so each client binds its own 127.0.0.x). A flooder with many addresses holds
// connections open and reopens each as soon as it is closed; the node's own joiners and the
// operator must still get answers.
import { connect, type Socket } from 'node:net';
import { httpExchange } from '../run/http-exchange.js';
import type { NodeStatus } from '../run/types.js';
import { startStatusServer, type StatusServer, type StatusServerOptions } from './status-server.js';

const HOST = '127.0.0.41';
const status: NodeStatus = { node: 'pi1', step: 'done', state: 'done', since: '2026-11-23T12:00:00.000Z' };
const SMALL = { headersTimeoutMs: 3000, requestTimeoutMs: 10_000, maxConnections: 4, maxConnectionsPerSource: 4 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const port = () => 20000 + Math.floor(Math.random() * 20000);

let server: StatusServer | undefined;
const opened: Socket[] = [];
const floods: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const f of floods.splice(0)) await f.stop(); // a failed test must not leave a flood reconnecting for ever
  for (const s of opened.splice(0)) s.destroy();
  await server?.close();
  server = undefined;
});

async function serve(options: Partial<StatusServerOptions> = {}): Promise<number> {
  const p = port();
  server = await startStatusServer({ host: HOST, port: p, names: [HOST], key: () => undefined, current: () => status, ...options });
  return p;
}

/** A connection from `from` that sends `text` (nothing: an idle one); resolves once connected. */
function open(p: number, from: string, text = ''): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port: p, localAddress: from }, () => resolve(socket));
    socket.on('error', () => undefined);
    if (text) socket.write(text);
    opened.push(socket);
  });
}

/** Each address keeps `each` idle connections open, opening a new one as soon as one is closed. */
function flood(p: number, addresses: readonly string[], each: number) {
  let running = true;
  let connected = 0;
  const live = new Set<Socket>();
  const hold = (from: string) => {
    const socket = connect({ host: HOST, port: p, localAddress: from }, () => { connected++; });
    live.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      live.delete(socket);
      if (running) setImmediate(() => hold(from));
    });
  };
  for (const from of addresses) for (let i = 0; i < each; i++) hold(from);
  const attack = {
    stop: async () => {
      if (!running) return;
      running = false;
      for (const s of live) s.destroy();
      await sleep(300); // the server sees the closes
    },
    /** Resolves once every one of them has been connected at least once (they hold the pool). */
    filled: async () => {
      const deadline = Date.now() + 5000;
      while (connected < addresses.length * each && Date.now() < deadline) await sleep(20);
      expect(connected).toBeGreaterThanOrEqual(addresses.length * each);
    },
  };
  floods.push(attack);
  return attack;
}

const addresses = (first: number, count: number) => Array.from({ length: count }, (_, i) => `127.0.0.${first + i}`);
const get = (p: number, from: string, timeoutMs = 2000) =>
  httpExchange({ method: 'GET', host: HOST, port: p, path: '/status', from, timeoutMs, maxBytes: 65536 });
const postJoin = (p: number, from: string, timeoutMs = 2000) =>
  httpExchange({ method: 'POST', host: HOST, port: p, path: '/join', body: '{"node":"pi9"}', from, timeoutMs, maxBytes: 65536 });
const closed = (socket: Socket) => socket.destroyed || socket.readyState === 'closed';
const whenClosed = (socket: Socket, ms: number) =>
  new Promise<boolean>((r) => { if (closed(socket)) r(true); socket.once('close', () => r(true)); setTimeout(() => r(false), ms); });

describe('a flood of idle connections from many addresses', () => {
  it('16 addresses x 8 idle connections, reopened at once, do not keep a joiner or the operator out', async () => {
    const p = await serve({ joinDesk: () => async () => ({ status: 202, batch: 'b1' }) });
    const attack = flood(p, addresses(100, 16), 8);
    await attack.filled();
    await sleep(200);
    const started = Date.now();
    const [join, read] = await Promise.all([postJoin(p, '127.0.0.200'), get(p, '127.0.0.201')]);
    expect(join?.status).toBe(202);
    expect(read?.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2000);
    // Every one of them is answered, not just a lucky first: ten more reads in a row.
    for (let i = 0; i < 10; i++) expect((await get(p, `127.0.0.${210 + i}`))?.status).toBe(200);
    await attack.stop();
  });

  it('a peer gets through the flood too', async () => {
    const p = await serve({ peers: ['127.0.0.12'] });
    const attack = flood(p, addresses(100, 16), 8);
    await attack.filled();
    expect((await get(p, '127.0.0.12'))?.status).toBe(200);
    await attack.stop();
  });

  it('once the flood ends, the pool is whole again: 128 held, the 129th closes the oldest, 8 a source', async () => {
    const p = await serve({ joinDesk: () => async () => ({ status: 202 }) });
    const attack = flood(p, addresses(100, 16), 8);
    await attack.filled();
    // Evictions while the flood runs: each answered request closed one flooder, which came back at once.
    await Promise.all(addresses(200, 20).map((from, i) => (i % 2 ? get(p, from) : postJoin(p, from))));
    await attack.stop();
    // Were any count left behind (or released twice), the pool would hold fewer (or more) than 128.
    const held: Socket[] = [];
    for (const from of addresses(130, 16)) for (let i = 0; i < 8; i++) held.push(await open(p, from));
    await sleep(200);
    expect(held.filter(closed)).toHaveLength(0);
    await open(p, '127.0.0.150');
    expect(await whenClosed(held[0]!, 1000)).toBe(true);
    await sleep(100);
    expect(held.filter(closed)).toHaveLength(1);
    const ninth = await open(p, '127.0.0.131'); // that source holds its 8 already
    expect(await whenClosed(ninth, 1000)).toBe(true);
    expect(held.filter(closed)).toHaveLength(1); // refused outright: nobody was closed to make room for it
  });
});

describe('which connection makes room', () => {
  it('the oldest that is not being served: a POST whose body trickles in is, an idle newer one is kept', async () => {
    const p = await serve({ limits: SMALL, joinDesk: () => async () => ({ status: 202 }) });
    const slow = await open(p, '127.0.0.70', `POST /join HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 100\r\n\r\n{"no`);
    const trickle = setInterval(() => slow.write('x'), 50);
    try {
      await sleep(100);
      const idle = await Promise.all([open(p, '127.0.0.71'), open(p, '127.0.0.72'), open(p, '127.0.0.73')]);
      await sleep(100);
      expect(closed(slow)).toBe(false);
      expect((await get(p, '127.0.0.80'))?.status).toBe(200);
      expect(await whenClosed(slow, 1000)).toBe(true);
      expect(idle.filter(closed)).toHaveLength(0);
    } finally {
      clearInterval(trickle);
    }
  });

  it('when every connection is being served, a newcomer is refused, a peer is not, and who is a peer may change', async () => {
    let release = () => undefined as void;
    const held = new Promise<void>((r) => { release = r; });
    const peers = new Set(['127.0.0.12']);
    const p = await serve({ limits: SMALL, peers: () => peers, joinDesk: () => async () => { await held; return { status: 202 }; } });
    const joins = addresses(70, 4).map((from) => postJoin(p, from, 5000)); // all four bodies in: all four being served
    await sleep(300);
    expect(await get(p, '127.0.0.80', 1000)).toBeUndefined();
    expect((await get(p, '127.0.0.12', 1000))?.status).toBe(200);
    peers.add('127.0.0.80'); // it joined the cluster after this node was built
    expect((await get(p, '127.0.0.80', 1000))?.status).toBe(200);
    release();
    expect((await Promise.all(joins)).map((r) => r?.status)).toEqual([202, 202, 202, 202]);
  });
});
