// The join desk and the status endpoint against an attacker on the cluster network, over real
// HTTP on loopback, with the TEST DOUBLE of MicroCloud (test/doubles/fake-host.ts) whose
// `cluster list` takes real time. Each case is a finding of a review that could be shown with a
// small script against the modules before they were hardened.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { deriveJoinKey, HEADERS, requestDigest, signRequest } from '../firstboot/join/join-auth.js';
import { JoinDesk, REPLACE_AFTER_MS } from '../firstboot/join/join-desk.js';
import { parseAddRequest } from '../firstboot/join/add-request.js';
import { readJoinAnswer } from '../firstboot/join/join-answer.js';
import { MAX_REFUSAL_LINES_PER_MINUTE } from '../firstboot/join/refusal-log.js';
import { sendJoin } from '../firstboot/join/send-join.js';
import { httpExchange } from '../firstboot/run/http-exchange.js';
import { EXIT } from '../firstboot/first-boot.js';
import type { JoinSender, NodeStatus } from '../firstboot/run/types.js';
import { readStatus } from '../firstboot/status/read-status.js';
import { startStatusServer, type StatusServer } from '../firstboot/status/status-server.js';
import { FakeMicroCloud } from './doubles/fake-host.js';
import { TEST_PASSPHRASE } from './helpers/examples.js';
import { boot, cluster, commands, fastClock, rig } from './helpers/first-boot-rig.js';
import { addBody, memberDesk, signedJoin, type DeskOptions } from './helpers/join-desk-rig.js';

const port = () => 20000 + Math.floor(Math.random() * 20000);
let KEY: Buffer;
beforeAll(async () => { KEY = await deriveJoinKey(TEST_PASSPHRASE, 'loop'); });

const member = (options: Omit<DeskOptions, 'key'> = {}) => memberDesk({ key: KEY, ...options });
const signedFor = (body: string, options: { to?: string; from?: string; at?: number } = {}) => signedJoin(KEY, body, options);

describe('one add session at a time', () => {
  it('two valid requests at once, with a slow cluster list: one session, then the other, never two open', async () => {
    const m = await member({ listDelayMs: 200 });
    const answers = await Promise.all([m.desk.handle(signedFor(addBody('pi4'))), m.desk.handle(signedFor(addBody('pi5'), { from: '127.0.0.15' }))]);
    expect(answers.map((a) => a.status)).toEqual([202, 202]);
    await m.desk.settled();
    // One batch (the second came while the first listed the members before its session) or two, one after the other.
    expect(commands(m.r.host).filter((c) => c === 'microcloud preseed')).toHaveLength(new Set(answers.map((a) => a.batch)).size);
    expect(m.cloud.maxOpenSessions).toBe(1);
  });

  it('a refused request opens nothing; a node asking again while its own session runs is busy, not gathered twice', async () => {
    const m = await member({ listDelayMs: 50 });
    expect(await m.desk.handle(signedFor(addBody('pi2', { address: '127.0.0.12' }), { from: '127.0.0.12' })))
      .toMatchObject({ status: 409, final: true }); // an online member's name: refused after its cluster list
    expect(await m.desk.handle(signedFor(addBody('pi4')))).toMatchObject({ status: 202, batch: expect.any(String) });
    expect(await m.desk.handle(signedFor(addBody('pi4')))).toMatchObject({ status: 503, reason: 'pi1 is adding pi4 now; ask again in a minute' });
    await m.desk.settled();
    expect(commands(m.r.host).filter((c) => c === 'microcloud preseed')).toHaveLength(1);
    expect(await m.desk.handle(signedFor(addBody('pi4')))).toMatchObject({ status: 202, batch: expect.any(String) }); // its session ended: asks anew
    await m.desk.settled();
  });
});

describe('no replay', () => {
  it('a request signed for pi1 is refused by pi2, and by pi1 after a restart', async () => {
    const pi1 = await member();
    const captured = signedFor(addBody());
    expect(await pi1.desk.handle(captured)).toMatchObject({ status: 202, batch: expect.any(String) });
    await pi1.desk.settled();
    const pi2 = await member({ name: 'pi2' });
    expect(await pi2.desk.handle(captured)).toMatchObject({ status: 401, reason: expect.stringMatching(/signed for another member or sender/) });
    // pi1 restarts: a new desk on the same disk still knows the nonce.
    const restarted = await member({ files: pi1.r.files });
    expect(await restarted.desk.handle(captured)).toMatchObject({ status: 409, reason: expect.stringMatching(/replayed/) });
    expect(pi1.r.files.files.get('/var/lib/microcloud-pi/join-nonces.json')).toMatchObject({ mode: 0o600 });
    expect(commands(restarted.r.host).filter((c) => c.startsWith('microcloud preseed'))).toEqual([]);
  });

  it('a member opens its desk only once its clock is settled (here: NTP)', async () => {
    const r = await rig('pi1', cluster(1, { port: port() }));
    expect((await boot(r)).exitCode).toBe(EXIT.done); // forms alone, keeps the key
    r.host.timeSynced = false;
    const again = await boot(r, { keepServing: true });
    try {
      expect(again.desk).toBeUndefined();
      expect(r.log.join('\n')).toMatch(/the join desk opens once the clock is settled/);
      r.host.timeSynced = true;
      for (let i = 0; i < 100 && !again.desk; i++) await new Promise((res) => setTimeout(res, 20));
      expect(again.desk).toBeInstanceOf(JoinDesk);
    } finally {
      await again.server?.close();
    }
  });
});

describe('no stranded joiner', () => {
  it('a copy of a real request sent from another address is refused without burning the real one', async () => {
    const m = await member();
    const real = signedFor(addBody());
    expect(await m.desk.handle({ ...real, source: '127.0.0.99' })).toMatchObject({ status: 401 });
    expect(await m.desk.handle(real)).toMatchObject({ status: 202, batch: expect.any(String) });
    await m.desk.settled();
  });

  async function shelf(p: number) {
    const c = cluster(3, { port: p });
    const cloud = new FakeMicroCloud(['pi1', 'pi2', 'pi3'], 'pi1', 2000);
    const members = await Promise.all(['pi1', 'pi2', 'pi3'].map((n) => rig(n, c, cloud)));
    const runs = await Promise.all(members.map((r) => boot(r, { readPeer: readStatus, keepServing: true })));
    return { cloud, members, runs, close: () => Promise.all(runs.map((x) => x.server?.close())) };
  }

  it('a joiner ignores answers not signed for it (a forged final refusal, a 401 to a tampered request) and asks again', async () => {
    const p = port();
    const s = await shelf(p);
    try {
      let calls = 0;
      const meddling: JoinSender = async (address, prt, path, headers, body, from) => {
        calls++;
        if (calls === 1) return { status: 409, body: '{"reason":"forged: give up","final":true}\n' }; // unsigned: not acted on
        if (calls === 2) return sendJoin(address, prt, path, { ...headers, [HEADERS.timestamp]: String(Number(headers[HEADERS.timestamp]) - 3_600_000) }, body, from);
        return sendJoin(address, prt, path, headers, body, from);
      };
      const pi4 = await rig('pi4', cluster(4, { port: p }), s.cloud);
      const result = await boot(pi4, { readPeer: readStatus, sendJoin: meddling });
      expect([result.exitCode, result.status().lastError]).toEqual([EXIT.done, undefined]);
      expect(pi4.log.join('\n')).toMatch(/pi1 gave no answer signed with this cluster's keys \(HTTP 409\); not acted on/);
      // The member refused the tampered request (its signature no longer held) without signing: no answer to act on either.
      expect(pi4.log.join('\n')).toMatch(/pi2 gave no answer signed with this cluster's keys \(HTTP 401\); not acted on/);
      expect(s.cloud.adds).toEqual([['pi4']]);
    } finally {
      await s.close();
    }
  }, 60_000);

  it('a member whose clock is off: the joiner goes to the next member instead of stopping', async () => {
    const p = port();
    const s = await shelf(p);
    try {
      await s.runs[0]!.server?.close();
      const skewed = fastClock();
      s.runs[0] = await boot(s.members[0]!, { readPeer: readStatus, keepServing: true, clock: { ...skewed, now: () => skewed.now() + 3_600_000 } });
      const pi4 = await rig('pi4', cluster(4, { port: p }), s.cloud);
      const result = await boot(pi4, { readPeer: readStatus });
      expect(result.exitCode).toBe(EXIT.done);
      expect(result.status().joining).toEqual({ via: 'pi2', replacing: false });
    } finally {
      await s.close();
    }
  }, 60_000);
});

describe('a signed request is good once, whatever its answer', () => {
  it('a request refused as busy cannot be replayed later to put its node in a batch', async () => {
    const m = await member();
    expect(await m.desk.handle(signedFor(addBody('pi4')))).toMatchObject({ status: 202 });
    const busy = signedFor(addBody('pi4'));
    expect(await m.desk.handle(busy)).toMatchObject({ status: 503 });
    await m.desk.settled();
    expect(await m.desk.handle(busy)).toMatchObject({ status: 409, reason: expect.stringMatching(/replayed/) });
  });

  it('a node that hung up before its answer is not gathered (it asks another member now)', async () => {
    const m = await member({ listDelayMs: 50 });
    expect(await m.desk.handle({ ...signedFor(addBody('pi4')), stillWaiting: () => false }))
      .toMatchObject({ status: 503, reason: 'the node stopped waiting for this answer' });
    expect(await m.desk.handle(signedFor(addBody('pi4')))).toMatchObject({ status: 202 });
    await m.desk.settled();
    expect(m.cloud.adds).toEqual([]); // nobody came to the session (no node runs here), but it was one session for one pi4
    expect(commands(m.r.host).filter((c) => c === 'microcloud preseed')).toHaveLength(1);
  });
});

describe('--replace removes only an unreachable member, after a while', () => {
  const replacing = addBody('pi3', { replace: true });

  it.each(['UPGRADING', 'NOT TRUSTED', 'NOT FOUND'])('a member that is %s is not removed; the joiner waits', async (state) => {
    const m = await member({ online: ['pi1', 'pi2', 'pi3'] });
    m.cloud.states.set('pi3', state);
    for (let i = 0; i < 3; i++) {
      const answer = await m.desk.handle(signedFor(replacing, { from: '127.0.0.13', at: m.clock.at }));
      expect(answer).toMatchObject({ status: 503, reason: expect.stringMatching(new RegExp(`pi3 is a member that is ${state.toLowerCase()}, not unreachable`)) });
      m.clock.at += REPLACE_AFTER_MS;
    }
    expect(m.cloud.removed).toEqual([]);
    expect(commands(m.r.host).filter((c) => c.startsWith('microcloud remove'))).toEqual([]);
  });

  it('an unreachable member seen once, back online unseen, and unreachable for a moment three minutes later is not removed', async () => {
    const m = await member({ online: ['pi1', 'pi2'], offline: ['pi3'] });
    expect(await m.desk.handle(signedFor(replacing, { from: '127.0.0.13' }))).toMatchObject({ status: 503 });
    m.cloud.offline.delete('pi3'); // back online, and nobody looks
    m.clock.at += REPLACE_AFTER_MS;
    m.cloud.offline.add('pi3'); // a moment of unreachability
    expect(await m.desk.handle(signedFor(replacing, { from: '127.0.0.13', at: m.clock.at })))
      .toMatchObject({ status: 503, reason: expect.stringMatching(/unreachable for 0 s/) });
    expect(m.cloud.removed).toEqual([]);
  });

  it('a --replace card from another address does not take the dead member\'s name', async () => {
    const m = await member({ online: ['pi1', 'pi2'], offline: ['pi3'] });
    const elsewhere = addBody('pi3', { replace: true, address: '127.0.0.40' });
    expect(await m.desk.handle(signedFor(elsewhere, { from: '127.0.0.40' })))
      .toMatchObject({ status: 409, final: true, reason: expect.stringMatching(/pi3 was a member at 127\.0\.0\.13; a Pi replacing it must have that address, not 127\.0\.0\.40/) });
    expect(m.cloud.removed).toEqual([]);
  });

  it('an unreachable member comes back online in the meantime: it is not removed', async () => {
    const m = await member({ online: ['pi1', 'pi2'], offline: ['pi3'] });
    expect(await m.desk.handle(signedFor(replacing, { from: '127.0.0.13' }))).toMatchObject({ status: 503 });
    m.cloud.offline.delete('pi3');
    m.clock.at += 60_000;
    expect(await m.desk.handle(signedFor(replacing, { from: '127.0.0.13', at: m.clock.at }))).toMatchObject({ status: 409, final: true });
    m.cloud.offline.add('pi3'); // unreachable again: the wait starts over
    m.clock.at += REPLACE_AFTER_MS;
    expect(await m.desk.handle(signedFor(replacing, { from: '127.0.0.13', at: m.clock.at }))).toMatchObject({ status: 503 });
    expect(m.cloud.removed).toEqual([]);
  });
});

describe('a healthy member is never removed as partly joined', () => {
  it('a node gathered here that joined through another member meanwhile (an answer got lost) is dropped from the batch, not removed', async () => {
    const m = await member();
    expect(await m.desk.handle(signedFor(addBody('pi4', { newcomers: ['pi4', 'pi5'] })))).toMatchObject({ status: 202 });
    m.cloud.members.push('pi4'); // pi4 asked pi2 too, and joined through it
    await m.desk.settled();
    expect(m.cloud.removed).toEqual([]);
    expect(commands(m.r.host).filter((c) => c.startsWith('microcloud remove'))).toEqual([]);
    expect(commands(m.r.host).filter((c) => c === 'microcloud preseed')).toEqual([]); // nobody left in the batch
  });

  it('after a failed session only its nodes that were not members before it are removed', async () => {
    const m = await member();
    expect(await m.desk.handle(signedFor(addBody('pi4')))).toMatchObject({ status: 202 });
    await m.desk.settled(); // nobody runs pi4's side: the session fails, and pi4 is no member: nothing to remove
    expect(m.cloud.removed).toEqual([]);
  });
});

describe('an authentic refusal is not lost in junk', () => {
  it('the member\'s status keeps its last final refusals, however many junk requests push them out of the journal', async () => {
    const m = await member();
    const junk = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => m.desk.handle({ ...signedFor(addBody('pi4'), { from: `127.0.0.${100 + i}` }),
      headers: {} })));
    await junk(12);
    expect(await m.desk.handle(signedFor(addBody('pi1', { address: '127.0.0.14' })))).toMatchObject({ status: 409, final: true });
    await junk(40);
    const last = m.statuses.filter((s) => s.refusals).at(-1)!;
    expect(last.refusals).toEqual([expect.objectContaining({ node: 'pi1', reason: expect.stringMatching(/this member's own name/) })]);
    expect(m.log.filter((l) => /own name/.test(l))).toHaveLength(1); // authentic refusals have journal lines of their own
  });
});

describe('bounded HTTP', () => {
  const status: NodeStatus = { node: 'pi1', step: 'done', state: 'done', since: '2026-11-23T12:00:00.000Z' };
  let server: StatusServer | undefined;
  afterEach(async () => { await server?.close(); server = undefined; });

  it('300 slow connections from one address do not stop /status answering within a second', async () => {
    const p = port();
    server = await startStatusServer({ host: '127.0.0.31', port: p, names: ['127.0.0.31'], key: () => KEY, current: () => status });
    const sockets: Socket[] = [];
    for (let i = 0; i < 300; i++) {
      const socket = connect({ host: '127.0.0.31', port: p, localAddress: '127.0.0.66' });
      socket.on('error', () => undefined);
      socket.write('GET /status HTTP/1.1\r\nHost: 127.0.0.31\r\n'); // headers never finished
      sockets.push(socket);
    }
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    expect(await readStatus('127.0.0.31', p, KEY, 1000)).toEqual(status);
    expect(Date.now() - started).toBeLessThan(1000);
    const open = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
    expect(open).toBeLessThanOrEqual(8); // the rest were closed at once
    for (const s of sockets) s.destroy();
  });

  it('idle connections from many addresses fill the total, not the cluster\'s own nodes\' share; a stranger with a request pushes out the oldest idle one', async () => {
    const p = port();
    server = await startStatusServer({ host: '127.0.0.31', port: p, names: ['127.0.0.31'], key: () => KEY, current: () => status, peers: ['127.0.0.12'],
      limits: { headersTimeoutMs: 3000, requestTimeoutMs: 10_000, maxConnections: 16, maxConnectionsPerSource: 4 } });
    const sockets: Socket[] = [];
    for (let a = 0; a < 6; a++) {
      for (let i = 0; i < 4; i++) {
        const socket = connect({ host: '127.0.0.31', port: p, localAddress: `127.0.0.${70 + a}` });
        socket.on('error', () => undefined);
        sockets.push(socket);
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(sockets.filter((x) => !x.destroyed).length).toBeLessThanOrEqual(16);
    const fromPeer = await httpExchange({ method: 'GET', host: '127.0.0.31', port: p, path: '/status', from: '127.0.0.12', timeoutMs: 1000, maxBytes: 65536 });
    expect(fromPeer?.status).toBe(200);
    try {
      const idleBefore = sockets.filter((x) => !x.destroyed).length;
      const fromStranger = await httpExchange({ method: 'GET', host: '127.0.0.31', port: p, path: '/status', from: '127.0.0.99', timeoutMs: 1000, maxBytes: 65536 });
      expect(fromStranger?.status).toBe(200); // the total for strangers is full: the oldest idle connection made room
      await new Promise((r) => setTimeout(r, 100));
      expect(sockets.filter((x) => !x.destroyed).length).toBe(idleBefore - 1);
    } finally {
      for (const x of sockets) x.destroy();
    }
  });

  it('a request whose headers never finish is closed within seconds', async () => {
    const p = port();
    server = await startStatusServer({ host: '127.0.0.31', port: p, names: ['127.0.0.31'], key: () => undefined, current: () => status,
      limits: { headersTimeoutMs: 500, requestTimeoutMs: 1000, maxConnections: 16, maxConnectionsPerSource: 4 } });
    const socket = connect({ host: '127.0.0.31', port: p });
    socket.on('error', () => undefined);
    const started = Date.now();
    let answer = '';
    socket.on('data', (d: Buffer) => { answer += d.toString(); });
    const ended = new Promise<boolean>((r) => { socket.once('end', () => r(true)); setTimeout(() => r(false), 5000); });
    socket.write('GET /status HTTP/1.1\r\n');
    expect(await ended).toBe(true); // the member hung up on it
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(Date.now() - started).toBeLessThan(3000);
    socket.destroy();
  });

  it('an oversized body gets 413 and a log line, from content-length or while streaming', async () => {
    const p = port();
    const m = await member();
    server = await startStatusServer({ host: '127.0.0.11', port: p, names: ['127.0.0.11'], key: () => KEY, current: () => status,
      joinDesk: () => (r) => m.desk.handle(r) });
    const nonce = randomBytes(16).toString('hex');
    const declared = await sendJoin('127.0.0.11', p, '/join', { [HEADERS.nonce]: nonce }, 'x'.repeat(20_000), '127.0.0.14');
    expect(declared).toMatchObject({ status: 413, body: expect.stringContaining('the body is over 16384 bytes') });
    expect(declared!.signature).toBeUndefined(); // a request whose signature was never checked gets no signed answer
    // Chunked: no content-length, the limit is found while reading.
    const streamed = await new Promise<number>((resolve) => {
      const req = request({ host: '127.0.0.11', port: p, path: '/join', method: 'POST', localAddress: '127.0.0.15', headers: { 'transfer-encoding': 'chunked' } },
        (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', () => resolve(-1));
      for (let i = 0; i < 20; i++) req.write('y'.repeat(1024));
      req.end();
    });
    expect(streamed).toBe(413);
    expect(m.log.filter((l) => /refused a request from 127\.0\.0\.1[45]: the body is over 16384 bytes/.test(l))).toHaveLength(2);
  });
});

describe('answers a node acts on are authentic', () => {
  it('nobody can fetch a signed refusal for a sniffed nonce: only a request whose signature held gets a signed answer', async () => {
    const p = port();
    const m = await member();
    const server = await startStatusServer({ host: '127.0.0.11', port: p, names: ['127.0.0.11'], key: () => KEY,
      current: () => ({ node: 'pi1', step: 'done', state: 'done', since: 't' }), joinDesk: () => (r) => m.desk.handle(r) });
    try {
      const real = signedFor(addBody('pi4', { node: 'pi2', system: { name: 'pi2' } }));
      const nonce = real.headers[HEADERS.nonce]!;
      // The attacker replays the joiner's nonce: with no signature, with a wrong one, and the real one sent from its own address.
      for (const headers of [{ [HEADERS.nonce]: nonce }, { ...real.headers, [HEADERS.signature]: 'a'.repeat(64) }, real.headers]) {
        const reply = await sendJoin('127.0.0.11', p, '/join', headers, real.body, '127.0.0.66');
        expect(reply?.signature).toBeUndefined();
        expect(readJoinAnswer(KEY, '127.0.0.11', nonce, reply!)).toBeUndefined();
      }
      // The joiner's own request (a name taken: a final refusal) is answered signed, for its nonce.
      const own = await sendJoin('127.0.0.11', p, '/join', real.headers, real.body, '127.0.0.14');
      expect(readJoinAnswer(KEY, '127.0.0.11', nonce, own!, requestDigest('/join', real.body))).toMatchObject({ status: 409, final: true });
      // ...and that signature is good for pi1's answer only, to that request only.
      expect(readJoinAnswer(KEY, '127.0.0.12', nonce, own!, requestDigest('/join', real.body))).toBeUndefined();
      expect(readJoinAnswer(KEY, '127.0.0.11', nonce, own!, requestDigest('/join', addBody('pi4')))).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  // A holder of the join key on the path sees pi4's nonce, drops pi4's request and sends junk signed under that nonce: pi1
  // refuses the junk for good, signed. Bound to the request's body, that answer is no answer to pi4's own request.
  it('a final refusal earned by another body under a sniffed nonce is no answer to the real request', async () => {
    const p = port();
    const m = await member();
    const server = await startStatusServer({ host: '127.0.0.11', port: p, names: ['127.0.0.11'], key: () => KEY,
      current: () => ({ node: 'pi1', step: 'done', state: 'done', since: 't' }), joinDesk: () => (r) => m.desk.handle(r) });
    try {
      const real = signedFor(addBody('pi4'));
      const nonce = real.headers[HEADERS.nonce]!;
      const junk = signedJoin(KEY, '{"node":"pi4"}', { from: '127.0.0.14' });
      const forged = { ...junk.headers, [HEADERS.nonce]: nonce,
        [HEADERS.signature]: signRequest(KEY, { method: 'POST', path: '/join', member: '127.0.0.11', sender: '127.0.0.14' }, junk.body,
          Number(real.headers[HEADERS.timestamp]), nonce).signature };
      const reply = await sendJoin('127.0.0.11', p, '/join', forged, junk.body, '127.0.0.14');
      expect(readJoinAnswer(KEY, '127.0.0.11', nonce, reply!, requestDigest('/join', junk.body))).toMatchObject({ status: 400, final: true });
      expect(readJoinAnswer(KEY, '127.0.0.11', nonce, reply!, requestDigest('/join', real.body))).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  const status: NodeStatus = { node: 'pi1', step: 'done', state: 'done', since: '2026-11-23T12:00:00.000Z' };
  let server: StatusServer | undefined;
  afterEach(async () => { await server?.close(); server = undefined; });

  it('a status counts only when signed with the cluster key for this read', async () => {
    const p = port();
    const other = await deriveJoinKey('another passphrase', 'loop');
    let key: Buffer | undefined = other;
    server = await startStatusServer({ host: '127.0.0.32', port: p, names: ['127.0.0.32'], key: () => key, current: () => status });
    expect(await readStatus('127.0.0.32', p, KEY)).toBeUndefined(); // signed with another cluster's key
    key = undefined;
    expect(await readStatus('127.0.0.32', p, KEY)).toBeUndefined(); // not signed at all
    expect(await readStatus('127.0.0.32', p)).toEqual(status); // the operator's read, without a key
    key = KEY;
    expect(await readStatus('127.0.0.32', p, KEY)).toEqual(status);
  });

  it('answers only to its own names (no DNS rebinding)', async () => {
    const p = port();
    server = await startStatusServer({ host: '127.0.0.33', port: p, names: ['127.0.0.33', 'pi1'], key: () => KEY, current: () => status });
    const get = (host: string) => new Promise<number>((resolve) => {
      request({ host: '127.0.0.33', port: p, path: '/status', headers: { host } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).end();
    });
    expect(await get('attacker.example:' + p)).toBe(421);
    expect(await get(`pi1:${p}`)).toBe(200);
    expect(await get(`127.0.0.33:${p}`)).toBe(200);
  });
});

describe('refusal lines', () => {
  it('are limited per minute, then summed up', async () => {
    const m = await member();
    for (let i = 0; i < 30; i++) await m.desk.handle({ ...signedFor(addBody()), headers: {}, source: `127.0.0.${100 + i}` });
    const lines = () => m.log.filter((l) => l.includes('refused a request'));
    expect(lines()).toHaveLength(MAX_REFUSAL_LINES_PER_MINUTE);
    m.clock.at += 60_000;
    await m.desk.handle({ ...signedFor(addBody()), headers: {}, source: '127.0.0.200' });
    expect(m.log).toContain(`warning: join: ${30 - MAX_REFUSAL_LINES_PER_MINUTE} more refused request(s) in the last minute were not logged`);
  });

  it('escape what a sender chose: a key with a newline cannot forge a log line', async () => {
    const m = await member();
    const body = JSON.stringify({ node: 'pi4', address: '127.0.0.14', replace: false, system: { name: 'pi4' }, 'x\nwarning: join: pi2 is compromised': 1 });
    const answer = await m.desk.handle(signedFor(body));
    expect(answer.status).toBe(400);
    expect(m.log.join('\n').split('\n').some((l) => l.startsWith('warning: join: pi2'))).toBe(false);
    expect(m.log.join('\n')).toContain('unknown field "x\\nwarning: join: pi2 is compromised"');
  });
});

describe('field checks of an add request', () => {
  const config = { subnet: '127.0.0.0/24', join: { grow: true, replace: false, system: { name: 'pi1' }, underlaySubnet: '10.77.0.0/24' } };
  const sys = (over: Record<string, unknown>) => addBody('pi4', { system: { name: 'pi4', ...over } });
  const filters = (f: Record<string, unknown>) => addBody('pi4', { filters: { ceph: [{ find: 'type == usb', find_min: 1, find_max: 2, wipe: false, ...f }] } });
  it.each([
    ['a disk path that climbs out of /dev', sys({ storage: { local: { path: '/dev/../../etc/shadow', wipe: true } } }), /not a \/dev path/],
    ['a disk path with a . segment', sys({ storage: { ceph: [{ path: '/dev/./sda', wipe: true }] } }), /not a \/dev path/],
    ['a disk path with an empty segment', sys({ storage: { ceph: [{ path: '/dev//sda', wipe: true }] } }), /not a \/dev path/],
    ['an interface named ..', sys({ ovn_uplink_interface: '..' }), /not an interface name/],
    ['a find_min of 1e300', filters({ find_min: 1e300, find_max: 1e300 }), /whole numbers from 0 to 64/],
    ['find_min above find_max', filters({ find_min: 3, find_max: 2 }), /find_min is more than find_max/],
    ['an underlay address outside the underlay network', sys({ ovn_underlay_ip: '192.168.9.9' }), /outside the cluster's OVN underlay network 10\.77\.0\.0\/24/],
    ['an empty key', JSON.stringify({ ...JSON.parse(addBody()), '': 1 }), /unknown field ""/],
  ])('refuses %s', (_what, body, reason) => {
    const parsed = parseAddRequest(body, '127.0.0.14', config);
    expect(parsed).toMatchObject({ ok: false, reason: expect.stringMatching(reason) });
  });

  it('takes an underlay address inside the underlay network, and none where the cluster has none', () => {
    expect(parseAddRequest(sys({ ovn_underlay_ip: '10.77.0.14' }), '127.0.0.14', config).ok).toBe(true);
    const without = { ...config, join: { ...config.join, underlaySubnet: undefined } };
    expect(parseAddRequest(sys({ ovn_underlay_ip: '10.77.0.14' }), '127.0.0.14', without)).toMatchObject({ ok: false, reason: expect.stringMatching(/it has none/) });
  });
});
