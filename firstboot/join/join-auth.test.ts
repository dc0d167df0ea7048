import { randomBytes } from 'node:crypto';
import {
  answerIsAuthentic, deriveJoinKey, HEADERS, MAX_BODY_BYTES, MAX_NONCES_PER_SOURCE, MAX_REQUESTS_PER_MINUTE, MAX_SKEW_MS, NONCE_KEEP_MS, ReplayGuard, sessionPassphrase,
  signAnswer, signRequest, verifyRequest, type JoinRequestIn, type RequestScope,
} from './join-auth.js';

let KEY: Buffer;
beforeAll(async () => { KEY = await deriveJoinKey('correct horse battery staple', 'shelf'); });
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const MEMBER = '10.0.0.11';
const inSubnet = (a: string) => a.startsWith('10.0.0.');
const nonce = () => randomBytes(16).toString('hex');

function request(body = '{"node":"pi4"}', options: { key?: Buffer; at?: number; nonce?: string; source?: string; scope?: Partial<RequestScope> } = {}): JoinRequestIn {
  const source = options.source ?? '10.0.0.14';
  const scope: RequestScope = { method: 'POST', path: '/join', member: MEMBER, sender: source, ...options.scope };
  const h = signRequest(options.key ?? KEY, scope, body, options.at ?? NOW, options.nonce ?? nonce());
  return { source, method: 'POST', path: '/join', body,
    headers: { [HEADERS.timestamp]: h.timestamp, [HEADERS.nonce]: h.nonce, [HEADERS.signature]: h.signature } };
}

describe('join request trust', () => {
  it('accepts a request signed with the cluster key; once used, its nonce is refused', () => {
    const guard = new ReplayGuard();
    const r = request();
    expect(verifyRequest(KEY, MEMBER, r, NOW + 1000, guard, inSubnet)).toEqual({ ok: true });
    guard.use(r.headers[HEADERS.nonce]!, NOW, NOW + 1500);
    expect(verifyRequest(KEY, MEMBER, r, NOW + 2000, guard, inSubnet)).toMatchObject({ ok: false, status: 409, reason: expect.stringMatching(/replayed/) });
  });

  it('remembers used nonces across a restart (what the member saves)', () => {
    const r = request();
    const before = new ReplayGuard();
    before.use(r.headers[HEADERS.nonce]!, NOW, NOW);
    expect(verifyRequest(KEY, MEMBER, r, NOW + 1000, new ReplayGuard(JSON.parse(JSON.stringify(before.ledger()))), inSubnet)).toMatchObject({ status: 409 });
  });

  it('keeps a join request\'s nonce a day: a clock set back to when a captured request was fresh still refuses it', () => {
    const guard = new ReplayGuard();
    const old = request(undefined, { at: NOW });
    guard.use(old.headers[HEADERS.nonce]!, NOW, NOW);
    guard.use(nonce(), NOW + 20 * 60_000, NOW + 20 * 60_000); // much later
    expect(verifyRequest(KEY, MEMBER, old, NOW + 1000, guard, inSubnet)).toMatchObject({ ok: false, status: 409 });
    expect(verifyRequest(KEY, MEMBER, request(undefined, { at: NOW + 1000 }), NOW + 1000, guard, inSubnet)).toEqual({ ok: true });
  });

  it('keeps a poll\'s nonce only while its request could pass the skew check, and saves none of them', () => {
    const guard = new ReplayGuard();
    guard.use('a'.repeat(32), NOW, NOW, '10.0.0.14', NONCE_KEEP_MS.poll);
    guard.use('b'.repeat(32), NOW, NOW, '10.0.0.14', NONCE_KEEP_MS.join);
    expect(Object.keys(guard.ledger().nonces)).toEqual(['b'.repeat(32)]);
    guard.use(nonce(), NOW + 11 * 60_000, NOW + 11 * 60_000);
    expect(guard.seen('a'.repeat(32))).toBe(false);
    expect(guard.seen('b'.repeat(32))).toBe(true);
  });

  it('a floor a clock that ran a day ahead left behind does not refuse fresh requests once the clock is right', () => {
    const guard = new ReplayGuard({ floor: NOW + 24 * 3600_000, nonces: {} });
    expect(verifyRequest(KEY, MEMBER, request(undefined, { at: NOW }), NOW, guard, inSubnet)).toEqual({ ok: true });
    // Below now minus twice the skew, the floor still counts.
    expect(guard.forgotten(NOW - 2 * MAX_SKEW_MS - 1, NOW)).toBe(true);
  });

  it('a verified sender can make the member remember only so many nonces', () => {
    const guard = new ReplayGuard();
    for (let i = 0; i < MAX_NONCES_PER_SOURCE; i++) guard.use(nonce(), NOW, NOW, '10.0.0.14', NONCE_KEEP_MS.poll);
    expect(verifyRequest(KEY, MEMBER, request(), NOW, guard, inSubnet)).toMatchObject({ ok: false, status: 429 });
    expect(verifyRequest(KEY, MEMBER, request(undefined, { source: '10.0.0.15' }), NOW, guard, inSubnet)).toEqual({ ok: true });
  });

  it.each<[string, () => Promise<JoinRequestIn> | JoinRequestIn, number, RegExp]>([
    ['a key from another passphrase', async () => request(undefined, { key: await deriveJoinKey('another passphrase', 'shelf') }), 401, /signature does not match/],
    ['a key of another cluster with the same passphrase', async () => request(undefined, { key: await deriveJoinKey('correct horse battery staple', 'lab') }), 401, /signature does not match/],
    ['a body changed after signing', () => ({ ...request(), body: '{"node":"pi5"}' }), 401, /signature does not match/],
    ['a request signed for another member', () => request(undefined, { scope: { member: '10.0.0.12' } }), 401, /another member or sender/],
    ['a request signed for another sender', () => request(undefined, { scope: { sender: '10.0.0.15' } }), 401, /another member or sender/],
    ['a request signed for another path', () => request(undefined, { scope: { path: '/status' } }), 401, /signature does not match/],
    ['a request signed for another method', () => request(undefined, { scope: { method: 'GET' } }), 401, /signature does not match/],
    ['no signature', () => { const r = request(); return { ...r, headers: { ...r.headers, [HEADERS.signature]: undefined } }; }, 401, /not signed/],
    ['a timestamp from 6 minutes ago', () => request(undefined, { at: NOW - 6 * 60_000 }), 401, /more than 5 minutes/],
    ['a timestamp from the future', () => request(undefined, { at: NOW + MAX_SKEW_MS + 1 }), 401, /more than 5 minutes/],
    ['a body over the limit', () => request('x'.repeat(MAX_BODY_BYTES + 1)), 413, /over 16384 bytes/],
    ['a body the server stopped reading', () => ({ ...request(''), oversized: true }), 413, /over 16384 bytes/],
    ['a source outside the cluster network', () => request(undefined, { source: '192.168.1.9' }), 403, /outside the cluster network/],
    ['a nonce that is not hex', () => request(undefined, { nonce: 'not-a-nonce' }), 401, /nonce/],
  ])('refuses %s with a reason', async (_name, make, status, reason) => {
    const verdict = verifyRequest(KEY, MEMBER, await make(), NOW, new ReplayGuard(), inSubnet);
    expect(verdict).toMatchObject({ ok: false, status, reason: expect.stringMatching(reason) });
  });

  it('refuses more than a few requests a minute from one source, and allows them again a minute later', () => {
    const guard = new ReplayGuard();
    for (let i = 0; i < MAX_REQUESTS_PER_MINUTE; i++) expect(verifyRequest(KEY, MEMBER, request(), NOW + i, guard, inSubnet).ok).toBe(true);
    expect(verifyRequest(KEY, MEMBER, request(), NOW + 10, guard, inSubnet)).toMatchObject({ status: 429 });
    expect(verifyRequest(KEY, MEMBER, request(undefined, { at: NOW + 61_000 }), NOW + 61_000, guard, inSubnet).ok).toBe(true);
  });

  it('does not let a forged or refused request burn a real nonce', () => {
    const guard = new ReplayGuard();
    const real = request();
    const forged = { ...real, headers: { ...real.headers, [HEADERS.signature]: '0'.repeat(64) } };
    expect(verifyRequest(KEY, MEMBER, forged, NOW, guard, inSubnet).ok).toBe(false);
    expect(verifyRequest(KEY, MEMBER, { ...real, source: '10.0.0.99' }, NOW, guard, inSubnet).ok).toBe(false); // a copy from elsewhere
    expect(verifyRequest(KEY, MEMBER, real, NOW, guard, inSubnet).ok).toBe(true);
  });

  it('derives the same add-session passphrase on both sides from the key and the nonce, a new one per request', async () => {
    const n = nonce();
    expect(sessionPassphrase(await deriveJoinKey('correct horse battery staple', 'shelf'), n)).toBe(sessionPassphrase(KEY, n));
    expect(sessionPassphrase(KEY, nonce())).not.toBe(sessionPassphrase(KEY, n));
    expect(sessionPassphrase(KEY, n)).not.toContain('correct');
    expect(sessionPassphrase(KEY, n)).toHaveLength(32);
  });

  it('derives the key with a password KDF: the same on both sides, well under a second here', async () => {
    const started = process.hrtime.bigint();
    const again = await deriveJoinKey('correct horse battery staple', 'shelf');
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(again.equals(KEY)).toBe(true);
    expect(ms).toBeGreaterThan(20); // not a fast hash: guessing costs real time per try
  });
});

describe('signed answers', () => {
  it('are authentic only for the responder, nonce, status, body and kind they were signed for', () => {
    const n = nonce();
    const body = '{"reason":"busy"}\n';
    const scope = { kind: 'join' as const, responder: MEMBER, nonce: n, status: 503 };
    const sig = signAnswer(KEY, scope, body);
    expect(answerIsAuthentic(KEY, scope, body, sig)).toBe(true);
    expect(answerIsAuthentic(KEY, { ...scope, nonce: nonce() }, body, sig)).toBe(false);
    expect(answerIsAuthentic(KEY, { ...scope, status: 409 }, body, sig)).toBe(false);
    expect(answerIsAuthentic(KEY, { ...scope, responder: '10.0.0.12' }, body, sig)).toBe(false);
    expect(answerIsAuthentic(KEY, scope, '{"ok":true}\n', sig)).toBe(false);
    expect(answerIsAuthentic(KEY, { ...scope, kind: 'status' }, body, sig)).toBe(false);
    expect(answerIsAuthentic(KEY, scope, body, undefined)).toBe(false);
    expect(answerIsAuthentic(KEY, scope, body, 'zz')).toBe(false);
  });
});
