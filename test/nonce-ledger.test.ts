// The member's saved nonces on a real disk: the real file adapter on a temporary folder, requests
// arriving together as a batch's polls and joins do. (An in-memory double never races, which is
// how twenty requests at once once got nineteen HTTP 500s.)
import { readdir, readFile, stat, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deriveJoinKey } from '../firstboot/join/join-auth.js';
import { ACCEPTED_NONCES_PATH, parseLedger } from '../firstboot/join/nonce-ledger.js';
import { TEST_PASSPHRASE } from './helpers/examples.js';
import { addBody, memberDesk, signedJoin } from './helpers/join-desk-rig.js';
import { rootedFiles } from './helpers/rooted-files.js';
import { tempDir } from './helpers/temp-dir.js';

let KEY: Buffer;
beforeAll(async () => { KEY = await deriveJoinKey(TEST_PASSPHRASE, 'loop'); });

/** pi4.. at 127.0.0.14..: each its own source. */
const joins = (n: number) => Array.from({ length: n }, (_, i) => signedJoin(KEY, addBody(`pi${4 + i}`), { from: `127.0.0.${14 + i}` }));
const polls = (n: number) => Array.from({ length: n }, (_, i) => signedJoin(KEY, JSON.stringify({ node: `pi${4 + i}`, batch: 'f'.repeat(32) }),
  { from: `127.0.0.${14 + i}`, path: '/join/batch' }));

describe('the nonce ledger on a real disk', () => {
  it('twenty joins and twenty polls at once are all answered, each join saved once, no poll saved, nothing left behind', async () => {
    const root = await tempDir('mcpi-ledger-');
    const m = await memberDesk({ key: KEY, deskFiles: rootedFiles(root) });
    const joinRequests = joins(20);
    const answers = await Promise.all([...joinRequests, ...polls(20)].map((r) => m.desk.handle(r)));
    expect(answers.slice(0, 20).every((a) => a.status === 202)).toBe(true);
    expect(answers.slice(20).every((a) => a.status === 409 && a.verified)).toBe(true); // signed: "that batch is over"
    const file = join(root, ACCEPTED_NONCES_PATH);
    const { ledger, skipped } = parseLedger(await readFile(file, 'utf8'));
    expect(skipped).toBe(0);
    expect(Object.keys(ledger.nonces).sort()).toEqual(joinRequests.map((r) => r.headers['x-mcpi-nonce']).sort());
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readdir(join(root, '/var/lib/microcloud-pi'))).filter((f) => f.includes('partial'))).toEqual([]);
    await m.desk.settled();

    // A restart on the same disk: every join is refused as replayed.
    const again = await memberDesk({ key: KEY, deskFiles: rootedFiles(root) });
    const replays = await Promise.all(joinRequests.map((r) => again.desk.handle(r)));
    expect(replays.map((a) => a.status)).toEqual(joinRequests.map(() => 409));
  }, 30_000);

  it('a line cut by a power cut is skipped: the member opens, and the nonces before it still count', async () => {
    const root = await tempDir('mcpi-ledger-');
    const m = await memberDesk({ key: KEY, deskFiles: rootedFiles(root) });
    const [first] = joins(1);
    expect(await m.desk.handle(first!)).toMatchObject({ status: 202 });
    await m.desk.settled();
    await appendFile(join(root, ACCEPTED_NONCES_PATH), '{"n":"abc');
    const again = await memberDesk({ key: KEY, deskFiles: rootedFiles(root) });
    expect(again.log.join('\n')).toMatch(/1 unreadable line\(s\)/);
    expect(await again.desk.handle(first!)).toMatchObject({ status: 409 });
    expect(await again.desk.handle(joins(2)[1]!)).toMatchObject({ status: 202 });
    await again.desk.settled();
  }, 30_000);

  it('many joins are appended, then compacted to what is kept: the file stays small and still refuses them all', async () => {
    const root = await tempDir('mcpi-ledger-');
    const m = await memberDesk({ key: KEY, deskFiles: rootedFiles(root) });
    const sent = [];
    // 420 joins, 12 a source (the rate limit), from 35 sources; those gathered into a batch are kept (a node's
    // request while its own session runs is busy: it changed nothing, and stays in memory only; on a busy machine
    // sessions run longer and more are busy, so there are enough to pass the first compaction whatever the load).
    for (let round = 0; round < 12; round++) {
      const batch = Array.from({ length: 35 }, (_, i) => signedJoin(KEY, addBody(`pi${4 + i}`), { from: `127.0.0.${14 + i}` }));
      for (const r of batch) if ((await m.desk.handle(r)).status === 202) sent.push(r);
    }
    expect(sent.length).toBeGreaterThan(256); // past the first compaction
    const text = await readFile(join(root, ACCEPTED_NONCES_PATH), 'utf8');
    expect(text.split('\n').filter(Boolean).length).toBeLessThan(sent.length); // a snapshot and what came after it
    expect(Object.keys(parseLedger(text).ledger.nonces).sort()).toEqual(sent.map((r) => r.headers['x-mcpi-nonce']).sort());
    await m.desk.settled();
    const again = await memberDesk({ key: KEY, deskFiles: rootedFiles(root) });
    for (const r of sent.slice(0, 25)) expect(await again.desk.handle(r)).toMatchObject({ status: 409 });
  }, 60_000);
});
