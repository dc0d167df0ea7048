// build-image revoke against members played by loopback HTTP servers: what each is sent (a
// revocation the operator key signed, for the node named, up to now), what it says back, and
// the exit code.
import { tempDir } from './helpers/temp-dir.js';
import { createServer, type Server } from 'node:http';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { run } from '../builder/cli/run.js';
import { loadOrCreateSecrets } from '../builder/config/secrets.js';
import { answerHeaders, deriveJoinKey, HEADERS, requestDigest, type AnswerSigner } from '../firstboot/join/join-auth.js';
import { operatorPublicKey, readRevocation, REVOKE_PATH } from '../firstboot/join/join-ticket.js';
import { issueIdentity, nodeSigner } from '../firstboot/join/node-identity.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@laptop';

type Member = (body: string) => { status: number; body: string; signed?: 'by this node' | 'by another card'; signedFor?: string };
interface Heard { address: string; method: string; path: string; type: string | undefined; body: string }

const servers: Server[] = [];
afterEach(async () => { await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve)))); });

/** One server per address, all on one port (the cluster's status_port); an address without a member has none. */
async function members(byAddress: Record<string, Member | undefined>) {
  const heard: Heard[] = [];
  let port = 0;
  for (const [address, answer] of Object.entries(byAddress)) {
    if (!answer) continue;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        heard.push({ address, method: req.method!, path: req.url!, type: req.headers['content-type'], body });
        const reply = answer(body);
        // A member signs its answer as a status: for the operator's nonce, with the join key and its own card's key.
        const nonce = req.headers[HEADERS.nonce] as string;
        const card = reply.signed && signing!.card(reply.signed === 'by this node' ? address : '127.0.0.19');
        const signature = card ? answerHeaders(card, { kind: 'revoke', responder: address, nonce, status: reply.status,
          request: requestDigest(REVOKE_PATH, reply.signedFor ?? body) }, reply.body) : {};
        res.writeHead(reply.status, { 'content-type': 'application/json', ...signature }).end(reply.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(port, address, resolve));
    port = (server.address() as { port: number }).port;
    servers.push(server);
  }
  return { heard, port };
}

/** A cluster file of four nodes on loopback addresses, without its secrets file. */
async function clusterFile(port: number) {
  const config = join(await tempDir('mcpi-revoke-'), 'cluster.yaml');
  await writeFile(config, [
    'cluster: { name: shelf, domain: shelf.internal }',
    `admin: { user: ops, ssh_keys: ["${KEY}"] }`,
    'network: { subnet: 127.0.0.0/24, gateway: 127.0.0.1, dns: [127.0.0.1] }',
    'nodes:',
    ...[1, 2, 3, 4].map((i) => `  - { name: pi${i}, address: 127.0.0.1${i} }`),
    `microcloud: { status_port: ${port} }`, ''].join('\n'));
  return config;
}

/** What the members sign with: the cluster's join key and the card built for each address (pi<i> at 127.0.0.1<i>). */
let signing: { card: (address: string) => AnswerSigner } | undefined;

async function workspace(port: number) {
  const config = await clusterFile(port);
  const { secrets } = await loadOrCreateSecrets(config);
  const joinKey = await deriveJoinKey(secrets.sessionPassphrase, 'shelf');
  const publicKey = operatorPublicKey(secrets.operatorKey!);
  signing = { card: (address) => {
    const { privateKey, identity } = issueIdentity(secrets.operatorKey!, { cluster: 'shelf', node: `pi${address.slice(-1)}`, address, issued: NOW - 1000 });
    return { joinKey, node: nodeSigner(privateKey, identity, publicKey)! };
  } };
  return { config, publicKey };
}

async function revoke(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(['revoke', ...argv], { stdout: (t) => out.push(t), stderr: (l) => err.push(l), env }, { now: () => NOW });
  return { code, stdout: out.join(''), stderr: err.join('\n') };
}

const accept: Member = () => ({ status: 200, body: '{"ok":true}\n', signed: 'by this node' });

describe('build-image revoke', () => {
  it('gives every member a signed revocation of the node up to now, and says per node what it answered', async () => {
    const { heard, port } = await members({
      '127.0.0.11': accept,
      '127.0.0.12': () => ({ status: 403, body: '{"reason":"the revocation is for cluster lab, not shelf"}' }),
      '127.0.0.13': () => ({ status: 404, body: 'not found' }),
      '127.0.0.14': undefined,
    });
    const ws = await workspace(port);
    const r = await revoke(['--node', 'pi7', '--config', ws.config]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe([
      'pi1 127.0.0.11: accepted',
      'pi2 127.0.0.12: refused (HTTP 403: the revocation is for cluster lab, not shelf)',
      'pi3 127.0.0.13: refused (HTTP 404: it takes no revocations: built before join tickets, it checks none (rebuild it to have it check them))',
      'pi4 127.0.0.14: no answer within 5 s', ''].join('\n'));
    expect(r.stderr).toMatch(/pi7 is not in .*cluster\.yaml: revoking the tickets of cards built for it when it was/);
    expect(r.stderr).toMatch(/1 of 4 nodes took it\. A member that did not still admits pi7's old cards: run this again/);
    expect(heard.map((h) => [h.address, h.method, h.path, h.type])).toEqual([
      ['127.0.0.11', 'POST', REVOKE_PATH, 'text/plain'], ['127.0.0.12', 'POST', REVOKE_PATH, 'text/plain'], ['127.0.0.13', 'POST', REVOKE_PATH, 'text/plain']]);
    expect(readRevocation(ws.publicKey, heard[0]!.body, 'shelf')).toEqual({ ok: true, revocation: { v: 1, cluster: 'shelf', node: 'pi7', before: NOW } });
    // Kept beside the cluster file too, for build-image status: it takes no answer from those cards.
    expect(JSON.parse(await readFile(join(dirname(ws.config), 'cluster.revoked.json'), 'utf8'))).toEqual({ pi7: NOW });
  });

  it('counts a member only on its own signed word: an unsigned 200, or one signed by another card, is not counted', async () => {
    const { port } = await members({
      '127.0.0.11': accept,
      '127.0.0.12': () => ({ status: 200, body: '{"ok":true}\n' }),
      '127.0.0.13': () => ({ status: 200, body: '{"ok":true}\n', signed: 'by another card' }),
      // A 200 signed by pi4 itself, but for another request (an old revocation replayed under this nonce by someone on the path).
      '127.0.0.14': () => ({ status: 200, body: '{"ok":true}\n', signed: 'by this node', signedFor: 'an earlier revocation' }),
    });
    const ws = await workspace(port);
    const r = await revoke(['--node', 'pi2', '--config', ws.config]);
    expect(r.code).toBe(0);
    const unsigned = 'answered that it took it, but the answer is not signed by this node for this revocation (not counted: someone else at its address, an old answer replayed, or a member built before node identities)';
    expect(r.stdout.split('\n').slice(0, 4)).toEqual(['pi1 127.0.0.11: accepted', `pi2 127.0.0.12: ${unsigned}`, `pi3 127.0.0.13: ${unsigned}`,
      `pi4 127.0.0.14: ${unsigned}`]);
    expect(r.stderr).toMatch(/1 of 4 nodes took it/);
  });

  it('says so when every member took it', async () => {
    const { port } = await members({ '127.0.0.11': accept, '127.0.0.12': accept, '127.0.0.13': accept, '127.0.0.14': accept });
    const ws = await workspace(port);
    const r = await revoke(['-n', 'pi2', '-c', ws.config]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Every node took it: pi2's cards built until now can no longer join\. Build a new one with build-image --node pi2\./);
  });

  it('exits 3 with what to do when no member took it', async () => {
    const { port } = await members({ '127.0.0.11': () => ({ status: 401, body: '{"error":"the signature does not hold"}' }) });
    const ws = await workspace(port);
    const r = await revoke(['--node', 'pi2', '--config', ws.config]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/pi1 127\.0\.0\.11: refused \(HTTP 401: the signature does not hold\)/);
    expect(r.stderr).toMatch(/No member took the revocation, so pi2's cards built until now still join\. .*build-image status --config/);
  });

  it.each([
    [[], /Say whose cards to revoke: build-image revoke --node NAME/],
    [['--node', 'Pi_7'], /--node Pi_7 is not a node name/],
    [['--node', 'pi7', '--all'], /Unknown option '--all'.*Usage: build-image revoke/],
  ])('exits 2 on bad arguments %j', async (argv, message) => {
    const r = await revoke(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('exits 2 without the operator key, and creates no secrets file', async () => {
    const config = await clusterFile(9180);
    const r = await revoke(['--node', 'pi2', '--config', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cluster\.secrets\.yaml: the file does not exist.*MICROCLOUD_PI_OPERATOR_KEY/);
    expect(await readdir(dirname(config))).toEqual(['cluster.yaml']);
  });
});
