// A card speaks only for the node it was built for. Every card carries the join key, so before
// node identities the holder of any card (a lost one, a dead Pi's) could answer at a member's
// address: a status "done" that makes a booting node join instead of form, a join answer with a
// plan, the operator's `status` showing a node done. Each case below passed as authentic before.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { run } from '../builder/cli/run.js';
import { recordRevoked } from '../builder/revocations.js';
import { cardIdentity, planNodeConfig } from '../builder/render/node-config.js';
import { renderUserData } from '../builder/render/user-data.js';
import { answerHeaders, answerSignatures, answerSignedBy, deriveJoinKey, type AnswerSigner, type AnswerTrust } from '../firstboot/join/join-auth.js';
import { operatorPublicKey } from '../firstboot/join/join-ticket.js';
import { issueIdentity, NODE_KEY_PATH, nodeSigner, readIdentity } from '../firstboot/join/node-identity.js';
import type { NodeStatus } from '../firstboot/run/types.js';
import { readStatus } from '../firstboot/status/read-status.js';
import { startStatusServer, type StatusServer } from '../firstboot/status/status-server.js';
import { EXIT } from '../firstboot/first-boot.js';
import { boot, CLOUD_INIT_COPIES, cluster, KEY, rig } from './helpers/first-boot-rig.js';
import { TEST_ISSUED_MS, TEST_OPERATOR_KEY, TEST_TICKET } from './helpers/operator-key.js';
import { tempDir } from './helpers/temp-dir.js';

const PASSPHRASE = 'card-identity-passphrase-0123456789';
const OPERATOR = operatorPublicKey(TEST_OPERATOR_KEY);
const at = (i: number) => `127.0.0.${40 + i}`;
let JOIN_KEY: Buffer;
beforeAll(async () => { JOIN_KEY = await deriveJoinKey(PASSPHRASE, 'loop'); });

/** What the card built for `node` (at `address`) signs with. */
function cardOf(node: string, address: string, cluster = 'loop'): AnswerSigner {
  const { privateKey, identity } = issueIdentity(TEST_OPERATOR_KEY, { cluster, node, address, issued: TEST_ISSUED_MS });
  return { joinKey: JOIN_KEY, node: nodeSigner(privateKey, identity, OPERATOR)! };
}
const trust = (): AnswerTrust => ({ joinKey: JOIN_KEY, operatorKey: OPERATOR, cluster: 'loop' });
const port = () => 20000 + Math.floor(Math.random() * 20000);
const done = (node: string): NodeStatus => ({ node, step: 'done', state: 'done', since: '2026-12-01T10:00:00.000Z', detail: 'cluster formed' });

describe('a node\'s identity', () => {
  it('is the same for the same build, and its key matches only its own identity', () => {
    const fields = { cluster: 'loop', node: 'pi1', address: at(1), issued: TEST_ISSUED_MS };
    const one = issueIdentity(TEST_OPERATOR_KEY, fields);
    expect(issueIdentity(TEST_OPERATOR_KEY, fields)).toEqual(one);
    expect(readIdentity(OPERATOR, one.identity)).toMatchObject({ ok: true, value: { node: 'pi1', address: at(1) } });
    const rebuilt = issueIdentity(TEST_OPERATOR_KEY, { ...fields, issued: TEST_ISSUED_MS + 1 });
    expect(rebuilt.privateKey).not.toBe(one.privateKey); // a card built again (say with --replace) has a key of its own
    expect(nodeSigner(one.privateKey, one.identity, OPERATOR)).toBeDefined();
    expect(nodeSigner(rebuilt.privateKey, one.identity, OPERATOR)).toBeUndefined();
    expect(nodeSigner(one.privateKey, one.identity, operatorPublicKey(issueIdentity(TEST_OPERATOR_KEY, fields).privateKey))).toBeUndefined();
  });

  it('goes on the card: node.json carries the identity, user-data the private key in a root-only file', () => {
    const c = cluster(3);
    const config = planNodeConfig(c, 'pi2', { ticket: TEST_TICKET });
    const read = readIdentity(config.join.operatorKey!, config.join.identity!);
    expect(read).toMatchObject({ ok: true, value: { cluster: c.name, node: 'pi2', address: config.address } });
    const userData = renderUserData(c, 'pi2', 'preseed', { ticket: TEST_TICKET });
    const entry = userData.slice(userData.indexOf(`path: "${NODE_KEY_PATH}"`));
    expect(entry).toMatch(/^path: "\/var\/lib\/microcloud-pi\/node.key"\n\s+owner: "root:root"\n\s+permissions: "0600"/);
    expect(entry).toContain(cardIdentity(c, 'pi2', TEST_TICKET).privateKey);
    expect(renderUserData(c, 'pi2', 'preseed', {})).not.toContain(NODE_KEY_PATH); // no operator key: no identity
  });

  it('stays only in its root-only file once the node has booted: every copy cloud-init made is overwritten', async () => {
    const r = await rig('pi1', cluster(1), undefined, { ticket: TEST_TICKET });
    const key = cardIdentity(cluster(1), 'pi1', TEST_TICKET).privateKey;
    expect(Object.keys(CLOUD_INIT_COPIES).filter((copy) => r.files.files.get(copy)!.content.includes(key))).toEqual(Object.keys(CLOUD_INIT_COPIES));
    expect((await boot(r)).exitCode).toBe(EXIT.done);
    for (const copy of Object.keys(CLOUD_INIT_COPIES)) expect(await r.files.read(copy)).not.toContain(key);
    expect(r.files.files.get(NODE_KEY_PATH)).toMatchObject({ content: `${key}\n`, mode: 0o600 });
    expect(r.log.join('\n')).toMatch(/the card's own key was removed from \/boot\/firmware\/user-data, /);
  });
});

describe('only the node the operator built for an address may answer from it', () => {
  let server: StatusServer | undefined;
  afterEach(async () => { await server?.close(); server = undefined; });
  const serve = async (address: string, status: NodeStatus, signer: AnswerSigner | Buffer) => {
    const p = port();
    server = await startStatusServer({ host: address, port: p, names: [address], key: () => signer, current: () => status });
    return p;
  };

  it('takes a status signed by the node at that address, about itself', async () => {
    const p = await serve(at(1), done('pi1'), cardOf('pi1', at(1)));
    expect(await readStatus(at(1), p, trust())).toEqual(done('pi1'));
  });

  it.each([
    ['another card at a member\'s address (pi5\'s card where pi1 is off)', done('pi1'), () => cardOf('pi5', at(5))],
    ['another card claiming to be that node', done('pi1'), () => cardOf('pi1', at(5))],
    ['the right card, about another node', done('pi2'), () => cardOf('pi1', at(1))],
    ['a card of another cluster signed with the same operator key', done('pi1'), () => cardOf('pi1', at(1), 'lab')],
    ['the join key alone (a card built before identities)', done('pi1'), () => JOIN_KEY],
  ])('refuses %s', async (_what, status, signer) => {
    const p = await serve(at(1), status, signer());
    expect(await readStatus(at(1), p, trust())).toBeUndefined();
    expect(await readStatus(at(1), p, JOIN_KEY)).toBeDefined(); // what a reader without the operator key took (and took before)
  });

  it('a join answer with a plan from another card is no answer', () => {
    const scope = { kind: 'join' as const, responder: at(1), nonce: 'ab'.repeat(16), status: 202 };
    const body = '{"ok":true,"batch":"b1","plan":{}}\n';
    expect(answerSignedBy(trust(), scope, body, answerSignatures(answerHeaders(cardOf('pi1', at(1)), scope, body)))).toMatchObject({ node: 'pi1' });
    expect(answerSignedBy(trust(), scope, body, answerSignatures(answerHeaders(cardOf('pi5', at(5)), scope, body)))).toBeUndefined();
    const pi1 = answerHeaders(cardOf('pi1', at(1)), scope, body);
    expect(answerSignedBy(trust(), { ...scope, status: 409 }, body, answerSignatures(pi1))).toBeUndefined(); // bound to the status too
    expect(answerSignedBy(trust(), scope, body, answerSignatures({ ...pi1, 'x-mcpi-node-signature': answerHeaders(cardOf('pi5', at(5)), scope, body)['x-mcpi-node-signature']! })))
      .toBeUndefined();
  });
});

/** The loop cluster's file, nodes pi1..piN at at(i), in a folder of its own; the secrets file (both keys) beside it when asked for. */
async function loopClusterFile(nodes: number, statusPort: number, o: { secrets: boolean }): Promise<string> {
  const dir = await tempDir('mcpi-identity-');
  const config = join(dir, 'cluster.yaml');
  await writeFile(config, stringify({
    cluster: { name: 'loop', domain: 'loop.internal' },
    admin: { user: 'ops', ssh_keys: [KEY] },
    network: { subnet: '127.0.0.0/24', gateway: '127.0.0.1', dns: ['127.0.0.1'] },
    nodes: Array.from({ length: nodes }, (_, i) => ({ name: `pi${i + 1}`, address: at(i + 1) })), microcloud: { status_port: statusPort },
  }));
  if (o.secrets) await writeFile(join(dir, 'cluster.secrets.yaml'), stringify({ session_passphrase: PASSPHRASE, operator_key: TEST_OPERATOR_KEY }), { mode: 0o600 });
  return config;
}

describe('build-image status with the operator key', () => {
  const servers: StatusServer[] = [];
  afterEach(async () => { await Promise.all(servers.splice(0).map((s) => s.close())); });

  it.each([
    ['from the secrets file', {}, true],
    ['with the passphrase from the environment, the operator key from the secrets file beside it', { MICROCLOUD_PI_PASSPHRASE: PASSPHRASE }, true],
    ['with the passphrase and the operator key from the environment, no secrets file', { MICROCLOUD_PI_PASSPHRASE: PASSPHRASE, MICROCLOUD_PI_OPERATOR_KEY: TEST_OPERATOR_KEY }, false],
  ] as const)('shows a node answered for by another card as unverified, never done: keys %s', async (_how, env, secretsFile) => {
    const p = port();
    const config = await loopClusterFile(2, p, { secrets: secretsFile });
    for (const [address, status, signer] of [[at(1), done('pi1'), cardOf('pi1', at(1))], [at(2), done('pi2'), cardOf('pi3', at(3))]] as const)
      servers.push(await startStatusServer({ host: address, port: p, names: [address], key: () => signer, current: () => status }));
    const out: string[] = [];
    const err: string[] = [];
    const code = await run(['status', '-c', config, '--all'], { stdout: (t) => out.push(t), stderr: (l) => err.push(l), env: { ...env } });
    expect(code).toBe(0);
    expect(err).toEqual([]);
    const lines = out.join('').split('\n');
    expect(lines[0]).toBe('2 nodes: 1 done, 0 forming, 0 joining, 0 waiting, 0 stopped, 1 unverified, 0 no answer');
    expect(lines.find((l) => l.startsWith('pi2'))).toMatch(/unverified .*another card/);
  });

  it('takes no answer from a card the operator revoked: a lost card still signs as its own node, and says it is done', async () => {
    const p = port();
    const config = await loopClusterFile(2, p, { secrets: true });
    for (const [address, node] of [[at(1), 'pi1'], [at(2), 'pi2']] as const)
      servers.push(await startStatusServer({ host: address, port: p, names: [address], key: () => cardOf(node, address), current: () => done(node) }));
    const look = async () => {
      const out: string[] = [];
      await run(['status', '-c', config, '--all'], { stdout: (t) => out.push(t), stderr: () => {}, env: {} });
      return out.join('').split('\n')[0];
    };
    expect(await look()).toBe('2 nodes: 2 done, 0 forming, 0 joining, 0 waiting, 0 stopped, 0 unverified, 0 no answer');
    await recordRevoked(config, 'pi2', TEST_ISSUED_MS); // what build-image revoke --node pi2 keeps, for cards built until then
    expect(await look()).toBe('2 nodes: 1 done, 0 forming, 0 joining, 0 waiting, 0 stopped, 1 unverified, 0 no answer');
    await recordRevoked(config, 'pi1', TEST_ISSUED_MS - 1); // revoked before pi1's card was built: it still speaks
    expect(await look()).toBe('2 nodes: 1 done, 0 forming, 0 joining, 0 waiting, 0 stopped, 1 unverified, 0 no answer');
  });

  it('says so when it has no operator key: the join key alone lets any card answer for any node', async () => {
    const config = await loopClusterFile(1, port(), { secrets: false });
    const err: string[] = [];
    await run(['status', '-c', config], { stdout: () => {}, stderr: (l) => err.push(l), env: { MICROCLOUD_PI_PASSPHRASE: PASSPHRASE } });
    expect(err.join('\n')).toMatch(/^warning: no operator key .* the holder of any card could answer for any node/);
  });
});
