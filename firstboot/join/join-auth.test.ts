import { randomBytes } from 'node:crypto';
import {
  deriveJoinKey, HEADERS, MAX_BODY_BYTES, MAX_REQUESTS_PER_MINUTE, MAX_SKEW_MS, ReplayGuard, sessionPassphrase, signRequest,
  verifyRequest, type JoinRequestIn,
} from './join-auth.js';

const KEY = deriveJoinKey('correct horse battery staple', 'shelf');
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const inSubnet = (a: string) => a.startsWith('10.0.0.');
const nonce = () => randomBytes(16).toString('hex');

function request(body = '{"node":"pi4"}', options: { key?: Buffer; at?: number; nonce?: string; source?: string } = {}): JoinRequestIn {
  const h = signRequest(options.key ?? KEY, body, options.at ?? NOW, options.nonce ?? nonce());
  return { source: options.source ?? '10.0.0.14', body,
    headers: { [HEADERS.timestamp]: h.timestamp, [HEADERS.nonce]: h.nonce, [HEADERS.signature]: h.signature } };
}

describe('join request trust', () => {
  it('accepts a request signed with the cluster key, once', () => {
    const guard = new ReplayGuard();
    const r = request();
    expect(verifyRequest(KEY, r, NOW + 1000, guard, inSubnet)).toEqual({ ok: true });
    expect(verifyRequest(KEY, r, NOW + 2000, guard, inSubnet)).toMatchObject({ ok: false, status: 409, reason: expect.stringMatching(/replayed/) });
  });

  it.each<[string, () => JoinRequestIn, number, RegExp]>([
    ['a key from another passphrase', () => request(undefined, { key: deriveJoinKey('another passphrase', 'shelf') }), 401, /signature does not match/],
    ['a key of another cluster with the same passphrase', () => request(undefined, { key: deriveJoinKey('correct horse battery staple', 'lab') }), 401, /signature does not match/],
    ['a body changed after signing', () => ({ ...request(), body: '{"node":"pi5"}' }), 401, /signature does not match/],
    ['no signature', () => { const r = request(); return { ...r, headers: { ...r.headers, [HEADERS.signature]: undefined } }; }, 401, /not signed/],
    ['a timestamp from 6 minutes ago', () => request(undefined, { at: NOW - 6 * 60_000 }), 401, /more than 5 minutes/],
    ['a timestamp from the future', () => request(undefined, { at: NOW + MAX_SKEW_MS + 1 }), 401, /more than 5 minutes/],
    ['a body over the limit', () => request('x'.repeat(MAX_BODY_BYTES + 1)), 413, /over 16384 bytes/],
    ['a source outside the cluster network', () => request(undefined, { source: '192.168.1.9' }), 403, /outside the cluster network/],
    ['a nonce that is not hex', () => request(undefined, { nonce: 'not-a-nonce' }), 401, /nonce/],
  ])('refuses %s with a reason', (_name, make, status, reason) => {
    const verdict = verifyRequest(KEY, make(), NOW, new ReplayGuard(), inSubnet);
    expect(verdict).toMatchObject({ ok: false, status, reason: expect.stringMatching(reason) });
  });

  it('refuses more than a few requests a minute from one source, and allows them again a minute later', () => {
    const guard = new ReplayGuard();
    for (let i = 0; i < MAX_REQUESTS_PER_MINUTE; i++) expect(verifyRequest(KEY, request(), NOW + i, guard, inSubnet).ok).toBe(true);
    expect(verifyRequest(KEY, request(), NOW + 10, guard, inSubnet)).toMatchObject({ status: 429 });
    expect(verifyRequest(KEY, request(undefined, { at: NOW + 61_000 }), NOW + 61_000, guard, inSubnet).ok).toBe(true);
  });

  it('does not let a forged request burn a real nonce', () => {
    const guard = new ReplayGuard();
    const real = request();
    const forged = { ...real, headers: { ...real.headers, [HEADERS.signature]: '0'.repeat(64) } };
    expect(verifyRequest(KEY, forged, NOW, guard, inSubnet).ok).toBe(false);
    expect(verifyRequest(KEY, real, NOW, guard, inSubnet).ok).toBe(true);
  });

  it('derives the same add-session passphrase on both sides from the key and the nonce, a new one per request', () => {
    const n = nonce();
    expect(sessionPassphrase(deriveJoinKey('correct horse battery staple', 'shelf'), n)).toBe(sessionPassphrase(KEY, n));
    expect(sessionPassphrase(KEY, nonce())).not.toBe(sessionPassphrase(KEY, n));
    expect(sessionPassphrase(KEY, n)).not.toContain('correct');
    expect(sessionPassphrase(KEY, n)).toHaveLength(32);
  });
});
