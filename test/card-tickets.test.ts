// Every card a build writes carries a fresh join ticket for its own node, signed with the
// secrets file's operator key, issued at the build's moment and good for join_ticket_days;
// a CI build given a passphrase and no key says its cards carry none.
import { tempDir } from './helpers/temp-dir.js';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { run } from '../builder/cli/run.js';
import { NODE_CONFIG_PATH, type NodeConfig } from '../builder/render/node-config.js';
import { checkTicket, readTicket } from '../firstboot/join/join-ticket.js';
import { exampleFile } from './helpers/examples.js';
import { fakeNodeRuntime } from './helpers/raspi-fixture.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const DAY = 86_400_000;
let runtime: string;
let cache: string;
beforeAll(async () => {
  runtime = await fakeNodeRuntime();
  cache = await tempDir('mcpi-tickets-cache-');
});

async function seedOnly(config: string, out: string, more: string[], env: Record<string, string> = {}) {
  const err: string[] = [];
  const code = await run(['-c', config, '--seed-only', '-o', out, '--node-runtime', runtime, '--cache', cache, ...more],
    { stdout: () => {}, stderr: (l) => err.push(l), env }, { now: () => NOW });
  return { code, stderr: err.join('\n') };
}

async function nodeJson(seedDir: string): Promise<NodeConfig> {
  const userData = load(await readFile(join(seedDir, 'user-data'), 'utf8')) as { write_files: { path: string; content: string }[] };
  return JSON.parse(userData.write_files.find((f) => f.path === NODE_CONFIG_PATH)!.content) as NodeConfig;
}

async function workspace() {
  const dir = await tempDir('mcpi-tickets-');
  await cp(exampleFile('three-pis-ceph'), join(dir, 'cluster.yaml'));
  return { config: join(dir, 'cluster.yaml'), out: join(dir, 'out'), secrets: join(dir, 'cluster.secrets.yaml') };
}

describe('a build', () => {
  it('puts on each card a ticket for its own node and address, issued now, good for 28 days, signed with the secrets file\'s key', async () => {
    const ws = await workspace();
    expect((await seedOnly(ws.config, ws.out, ['--all'])).code).toBe(0);
    const key = (load(await readFile(ws.secrets, 'utf8')) as { operator_key: string }).operator_key;
    expect(key).toMatch(/^[A-Za-z0-9+/=]{40,}$/);
    const keys = new Set<string>();
    for (const [node, address] of [['pi1', '10.20.0.11'], ['pi2', '10.20.0.12'], ['pi3', '10.20.0.13']] as const) {
      const config = await nodeJson(join(ws.out, node));
      keys.add(config.join.operatorKey!);
      expect(readTicket(config.join.operatorKey!, config.join.ticket!)).toEqual({ ok: true,
        ticket: { v: 1, cluster: 'shelf', node, address, replace: false, issued: NOW, expires: NOW + 28 * DAY } });
    }
    expect(keys.size).toBe(1); // one cluster, one key
  });

  it('with --replace gives a replace ticket, good for join_ticket_days, which a member takes though pi2 joined before', async () => {
    const ws = await workspace();
    const text = await readFile(ws.config, 'utf8');
    await writeFile(ws.config, text.replace(/^microcloud:\n/m, 'microcloud:\n  join_ticket_days: 3\n'));
    expect((await seedOnly(ws.config, ws.out, ['--node', 'pi2', '--replace'])).code).toBe(0);
    const config = await nodeJson(join(ws.out, 'pi2'));
    const verdict = checkTicket({ ticketText: config.join.ticket, publicKey: config.join.operatorKey!, cluster: 'shelf', node: 'pi2',
      address: '10.20.0.12', replace: true, nowMs: NOW + DAY, revocations: [], spent: { pi2: NOW - 30 * DAY } });
    expect(verdict).toEqual({ ok: true, ticket: expect.objectContaining({ replace: true, expires: NOW + 3 * DAY }) });
  });

  it('issues at MICROCLOUD_PI_TICKET_TIME when set, so two builds of the same inputs give the same bytes', async () => {
    const ws = await workspace();
    const at = { MICROCLOUD_PI_TICKET_TIME: '2026-11-20T08:00:00Z' };
    expect((await seedOnly(ws.config, join(ws.out, 'a'), ['--node', 'pi1'], at)).code).toBe(0);
    expect((await seedOnly(ws.config, join(ws.out, 'b'), ['--node', 'pi1'], at)).code).toBe(0);
    const [a, b] = await Promise.all(['a', 'b'].map((d) => readFile(join(ws.out, d, 'pi1', 'user-data'), 'utf8')));
    expect(a).toBe(b);
    const config = await nodeJson(join(ws.out, 'a', 'pi1'));
    expect(readTicket(config.join.operatorKey!, config.join.ticket!)).toMatchObject({ ok: true, ticket: { issued: Date.UTC(2026, 10, 20, 8) } });
  });

  it.each([
    ['not a time', 'yesterday', 2, /MICROCLOUD_PI_TICKET_TIME yesterday is not a time: give it as 2026-11-23T12:00:00Z/],
    ['so long ago the tickets expired', '2026-01-01T00:00:00Z', 0, /warning: MICROCLOUD_PI_TICKET_TIME .* expired already/],
    ['in the future', '2027-01-01T00:00:00Z', 0, /warning: MICROCLOUD_PI_TICKET_TIME .* in the future: members refuse these cards until then/],
  ])('says so when MICROCLOUD_PI_TICKET_TIME is %s', async (_what, time, code, message) => {
    const ws = await workspace();
    const r = await seedOnly(ws.config, ws.out, ['--node', 'pi1'], { MICROCLOUD_PI_TICKET_TIME: time });
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
  });

  it('from the environment without MICROCLOUD_PI_OPERATOR_KEY warns that its cards carry no ticket', async () => {
    const ws = await workspace();
    const r = await seedOnly(ws.config, ws.out, ['--node', 'pi1'], { MICROCLOUD_PI_PASSPHRASE: 'from-the-environment-0123' });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: MICROCLOUD_PI_OPERATOR_KEY is not set: these cards carry no join ticket/);
    const config = await nodeJson(join(ws.out, 'pi1'));
    expect([config.join.operatorKey, config.join.ticket]).toEqual([undefined, undefined]);
  });
});
