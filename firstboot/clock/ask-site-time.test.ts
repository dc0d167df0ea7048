// A node asks `build-image serve`'s bundle server for the site's time over real HTTP on loopback:
// taken only when sealed by its cluster's operator for the nonce it sent.
import { afterEach, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { folderBundleFiles } from '../bundle/bundle-files.js';
import { startBundleServer, type BundleServer } from '../bundle/bundle-server.js';
import { operatorPublicKey } from '../join/join-ticket.js';
import { TEST_OPERATOR_KEY } from '../../test/helpers/operator-key.js';
import { askSiteTime } from './ask-site-time.js';
import { openSiteTime, sealSiteTime } from './site-time.js';

const HOST = '127.0.0.62';
const OPERATOR_TIME = Date.UTC(2026, 11, 5, 8, 0, 0);
const clock = { now: () => Date.now(), sleep: async () => {} };
const trust = { operatorKey: operatorPublicKey(TEST_OPERATOR_KEY), cluster: 'lab' };
let server: BundleServer | undefined;
let dir: string | undefined;

async function serve(timeSeal?: { operatorKey: string; cluster: string }) {
  dir = await mkdtemp(join(tmpdir(), 'mcpi-time-'));
  server = await startBundleServer({ host: HOST, port: 0, files: folderBundleFiles(dir), now: () => OPERATOR_TIME, ...(timeSeal ? { timeSeal } : {}) });
  return { address: HOST, port: server.port };
}

afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("serve's sealed time", () => {
  it('a node takes the time serve sealed with its operator key, and half the round trip', async () => {
    const reply = await askSiteTime(await serve({ operatorKey: TEST_OPERATOR_KEY, cluster: 'lab' }), trust, clock);
    expect(reply.ok).toBe(true);
    if (reply.ok) expect(reply.now - OPERATOR_TIME).toBeGreaterThanOrEqual(0);
    if (reply.ok) expect(reply.now - OPERATOR_TIME).toBeLessThan(1000);
  });

  it('refuses a time that is not sealed, sealed by another operator, or for another cluster', async () => {
    expect(await askSiteTime(await serve(), trust, clock)).toEqual({ ok: false, reason: expect.stringMatching(/not sealed/) });
    await server!.close();
    const stranger = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    expect(await askSiteTime(await serve({ operatorKey: stranger, cluster: 'lab' }), trust, clock))
      .toEqual({ ok: false, reason: expect.stringMatching(/signature does not hold/) });
    await server!.close();
    expect(await askSiteTime(await serve({ operatorKey: TEST_OPERATOR_KEY, cluster: 'other' }), trust, clock))
      .toEqual({ ok: false, reason: 'it is sealed for another cluster' });
  });

  it('refuses a recorded answer: it was sealed for another nonce', () => {
    const recorded = JSON.stringify({ now: OPERATOR_TIME, sealed: sealSiteTime(TEST_OPERATOR_KEY, 'lab', 'a'.repeat(32), OPERATOR_TIME) });
    expect(openSiteTime(trust.operatorKey, 'lab', 'a'.repeat(32), recorded)).toEqual({ ok: true, now: OPERATOR_TIME });
    expect(openSiteTime(trust.operatorKey, 'lab', 'b'.repeat(32), recorded)).toEqual({ ok: false, reason: 'it answers another request (nonce)' });
  });

  it('no answer is no time', async () => {
    expect(await askSiteTime({ address: HOST, port: 9 }, trust, clock, undefined, 500)).toEqual({ ok: false, reason: 'no answer' });
  });
});
