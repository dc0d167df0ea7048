// A lost card admits nobody but the node it was built for, once, in time, unrevoked: the member's
// desk checks each joiner's operator-signed ticket (firstboot/join/join-ticket.ts) before anything
// else it does for the request. Every case here got 202 before the desk checked tickets: the join
// key off any card was enough.
import { deriveJoinKey, HEADERS, sessionPassphrase } from '../firstboot/join/join-auth.js';
import { issueTicket, signRevocation, type TicketFields } from '../firstboot/join/join-ticket.js';
import { renderAddPreseed, withSessionPassphrase, type AddPlan } from '../firstboot/join/add-request.js';
import { REVOKE_PATH } from '../firstboot/join/join-ticket.js';
import { httpExchange } from '../firstboot/run/http-exchange.js';
import { startStatusServer } from '../firstboot/status/status-server.js';
import { TEST_PASSPHRASE } from './helpers/examples.js';
import { addBody, DESK_START, memberDesk, signedJoin, intentOf } from './helpers/join-desk-rig.js';
import { TEST_ISSUED_MS, TEST_OPERATOR_KEY, TEST_TICKET } from './helpers/operator-key.js';

let KEY: Buffer;
beforeAll(async () => { KEY = await deriveJoinKey(TEST_PASSPHRASE, 'loop'); });
const DAY = 24 * 3600_000;

/** A card's ticket as the build issues it: pi4 at 127.0.0.14 unless said otherwise. */
const ticket = (over: Partial<TicketFields> = {}) => issueTicket(TEST_OPERATOR_KEY,
  { cluster: 'loop', node: 'pi4', address: '127.0.0.14', replace: false, issued: TEST_ISSUED_MS, expires: TEST_ISSUED_MS + 28 * DAY, ...over });
const ticketed = () => memberDesk({ key: KEY, seed: { ticket: TEST_TICKET }, founders: ['pi1', 'pi2', 'pi3'] });
const ask = (node: string, t: string | undefined, options: { from?: string; at?: number; over?: Record<string, unknown> } = {}) =>
  signedJoin(KEY, addBody(node, { ...(options.from ? { address: options.from } : {}), ...options.over }),
    { from: options.from ?? `127.0.0.${10 + Number(node.slice(2))}`, ...(t ? { ticket: t } : {}), ...(options.at ? { at: options.at } : {}) });

describe('join tickets at the desk', () => {
  it('a card admits the node it was built for, at its address', async () => {
    const m = await ticketed();
    expect(await m.desk.handle(ask('pi4', ticket()))).toMatchObject({ status: 202, batch: expect.any(String) });
    await m.desk.settled();
  });

  // Another card holder sends pi4's ticket and identity again from pi4's address (while pi4 reboots, or by ARP spoofing), with
  // a certificate of its own: the join key signs it, but pi4's own key does not.
  it.each([
    ['without pi4\'s card signature', (h: Record<string, string>) => { const { [HEADERS.cardSignature]: _, ...rest } = h; return rest; }],
    ['signed by pi5\'s card', (h: Record<string, string>) => ({ ...h, [HEADERS.cardSignature]: ask('pi5', ticket({ node: 'pi5', address: '127.0.0.15' })).headers[HEADERS.cardSignature]! })],
  ])('refuses pi4\'s ticket and identity sent %s, for now, and changes nothing', async (_what, change) => {
    const m = await ticketed();
    const real = ask('pi4', ticket());
    const replayed = { ...real, headers: change({ ...real.headers }) };
    expect(await m.desk.handle(replayed)).toMatchObject({ status: 401, reason: expect.stringMatching(/not signed with pi4's own card key/) });
    expect(await m.desk.handle(ask('pi4', ticket()))).toMatchObject({ status: 202 }); // pi4 itself is not locked out
    await m.desk.settled();
  });

  it.each<[string, () => ReturnType<typeof ask>, RegExp]>([
    ['no ticket (a card built before tickets, or the join key alone)', () => ask('pi4', undefined), /carries no join ticket/],
    ['pi4\'s card asking as pi5', () => ask('pi5', ticket()), /the join ticket is for node pi4, not pi5/],
    ['pi4\'s card from another free address', () => ask('pi4', ticket(), { from: '127.0.0.40' }), /for pi4 at 127\.0\.0\.14, but the request comes from 127\.0\.0\.40/],
    ['a card of another cluster', () => ask('pi4', ticket({ cluster: 'lab' })), /for cluster lab, not loop/],
    ['a ticket signed with another operator key', () => ask('pi4', ticket().replace(/\.[^.]+$/, `.${'A'.repeat(86)}`)), /not this cluster's/],
    ['a plain card asking to replace', () => ask('pi4', ticket(), { over: { replace: true } }), /was not built for that/],
    ['a card not used within join_ticket_days', () => ask('pi4', ticket({ expires: DESK_START - 1000 })), /expired/],
    ['a ticketed card that names no MicroCloud certificate (the member could not tell it from an impostor after the session)',
      () => ask('pi4', ticket(), { over: { fingerprint: undefined } }), /names no MicroCloud certificate/],
  ])('refuses %s, for good, before touching the cluster', async (_, request, reason) => {
    const m = await ticketed();
    expect(await m.desk.handle(request())).toMatchObject({ status: 403, final: true, reason: expect.stringMatching(reason) });
    expect(m.r.host.calls.filter((c) => c.file === 'microcloud')).toEqual([]);
  });

  it('a card the operator revoked admits nobody; a card built after the revocation does', async () => {
    const m = await ticketed();
    const revocation = signRevocation(TEST_OPERATOR_KEY, { cluster: 'loop', node: 'pi4', before: TEST_ISSUED_MS + 1000 });
    expect(await m.desk.revoke('not a revocation')).toMatchObject({ status: 403 });
    expect(await m.desk.revoke(signRevocation(TEST_OPERATOR_KEY, { cluster: 'lab', node: 'pi4', before: DESK_START }))).toMatchObject({ status: 403 });
    expect(await m.desk.revoke(revocation)).toEqual({ status: 200 });
    expect(await m.desk.handle(ask('pi4', ticket()))).toMatchObject({ status: 403, final: true, reason: expect.stringMatching(/revoked/) });
    expect(await m.desk.handle(ask('pi4', ticket({ issued: TEST_ISSUED_MS + 2000 })))).toMatchObject({ status: 202 });
    await m.desk.settled();
    // Kept on the member's disk, root-only: a restart does not forget it.
    expect(m.r.files.files.get('/var/lib/microcloud-pi/join-tickets.json')).toMatchObject({ mode: 0o600 });
  });

  it('a card adds its node once: after pi4 joined (and was removed by hand), its card admits nobody', async () => {
    const m = await ticketed();
    const asked = await m.desk.handle(ask('pi4', ticket()));
    let open = await m.desk.handle(signedJoin(KEY, JSON.stringify({ node: 'pi4', batch: asked.batch }), { path: '/join/batch', from: '127.0.0.14' }));
    for (let i = 0; i < 100 && open.status === 202; i++) {
      await new Promise((r) => setTimeout(r, 5));
      open = await m.desk.handle(signedJoin(KEY, JSON.stringify({ node: 'pi4', batch: asked.batch }), { path: '/join/batch', from: '127.0.0.14', at: m.clock.at }));
    }
    const doc = renderAddPreseed(withSessionPassphrase(open.plan as AddPlan, sessionPassphrase(KEY, asked.batch!)));
    expect((await m.cloud.preseed('pi4', doc, false, undefined, intentOf('pi4'))).exitCode).toBe(0);
    await m.desk.settled();
    expect(m.cloud.adds).toEqual([['pi4']]);
    m.cloud.remove('pi4');
    m.clock.at += 60_000;
    expect(await m.desk.handle(ask('pi4', ticket(), { at: m.clock.at }))).toMatchObject({ status: 403, reason: expect.stringMatching(/already joined/) });
  });

  it('a founder\'s card is spent once the cluster formed: removed by hand, its name is not taken by its old card', async () => {
    const m = await ticketed();
    m.cloud.remove('pi3');
    const old = ticket({ node: 'pi3', address: '127.0.0.13' });
    expect(await m.desk.handle(ask('pi3', old))).toMatchObject({ status: 403, reason: expect.stringMatching(/already joined/) });
  });

  it('a replace card the operator built for a new address may take the dead member\'s name', async () => {
    const m = await memberDesk({ key: KEY, seed: { ticket: TEST_TICKET }, online: ['pi1', 'pi2'], offline: ['pi3'] });
    const moved = ticket({ node: 'pi3', address: '127.0.0.40', replace: true, issued: DESK_START - 1000 });
    const request = (at: number) => ask('pi3', moved, { from: '127.0.0.40', at, over: { replace: true } });
    expect(await m.desk.handle(request(m.clock.at))).toMatchObject({ status: 503, reason: expect.stringMatching(/unreachable for 0 s/) });
  });

  it('build-image revoke reaches the desk through the status endpoint: POST /join/revoke', async () => {
    const m = await ticketed();
    const port = 20000 + Math.floor(Math.random() * 20000);
    const server = await startStatusServer({ host: '127.0.0.11', port, names: ['127.0.0.11'], key: () => KEY,
      current: () => ({ node: 'pi1', step: 'done', state: 'done', since: '' }), revoke: () => (body) => m.desk.revoke(body) });
    try {
      const post = (body: string) => httpExchange({ method: 'POST', host: '127.0.0.11', port, path: REVOKE_PATH, body,
        headers: { 'content-type': 'text/plain' }, from: '127.0.0.99', timeoutMs: 2000, maxBytes: 4096 });
      expect(await post('forged')).toMatchObject({ status: 403 });
      expect(await post(signRevocation(TEST_OPERATOR_KEY, { cluster: 'loop', node: 'pi4', before: DESK_START }))).toMatchObject({ status: 200 });
      expect(await m.desk.handle(ask('pi4', ticket()))).toMatchObject({ status: 403, reason: expect.stringMatching(/revoked/) });
    } finally {
      await server.close();
    }
  });

  it('a ticket header swapped on the way earns no final refusal: the request is refused for now, and a fresh one passes', async () => {
    const m = await ticketed();
    const swapped = signedJoin(KEY, addBody('pi4'), { from: '127.0.0.14', ticket: ticket({ node: 'pi5' }), ticketMac: false });
    expect(await m.desk.handle(swapped)).toMatchObject({ status: 401, reason: expect.stringMatching(/does not belong to this request/) });
    expect((await m.desk.handle(swapped)).final).toBeUndefined();
    expect(await m.desk.handle(ask('pi4', ticket()))).toMatchObject({ status: 202 });
    await m.desk.settled();
  });

  it('refused requests of a card holder are not kept a day: they cannot fill the ledger and lock joiners out', async () => {
    const m = await ticketed();
    // 137 addresses x 120 refused requests in ten minutes (no ticket): the window is full for a while...
    for (let minute = 0; minute < 10; minute++) {
      for (let a = 0; a < 40; a++) for (let i = 0; i < 12; i++) await m.desk.handle(ask('pi4', undefined, { from: `127.0.0.${100 + a}`, at: m.clock.at }));
      m.clock.at += 60_000;
    }
    // ...but nothing of it is kept once the window has passed.
    m.clock.at += 11 * 60_000;
    expect(await m.desk.handle(ask('pi4', ticket(), { at: m.clock.at }))).toMatchObject({ status: 202 });
    expect(m.r.files.files.get('/var/lib/microcloud-pi/join-nonces.json')?.content.split('\n').filter(Boolean)).toHaveLength(1);
    await m.desk.settled();
  }, 60_000);
});
