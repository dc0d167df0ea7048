// build-image status reads every node's real HTTP status endpoint and prints one table. Only a
// status signed with the cluster's join key counts; every field is printed escaped.
import { tempDir } from './helpers/temp-dir.js';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { run } from '../builder/cli/run.js';
import { EXIT_NEEDS_PERSON, formatStatusTable, watchVerdict, type StatusRow } from '../builder/status.js';
import { deriveJoinKey, type Trust } from '../firstboot/join/join-auth.js';
import type { NodeStatus } from '../firstboot/run/types.js';
import { startStatusServer, type StatusServer } from '../firstboot/status/status-server.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@laptop';
const PASSPHRASE = 'status-test-passphrase-0123456789';
let JOIN_KEY: Buffer;
let OTHER_KEY: Buffer;
beforeAll(async () => {
  JOIN_KEY = await deriveJoinKey(PASSPHRASE, 'loop');
  OTHER_KEY = await deriveJoinKey('another cluster\'s passphrase', 'loop');
});

// These clusters are built without an operator key: status warns once that the join key alone is checked (test/card-identity.test.ts).
const keep = (line: string) => !line.startsWith('warning: no operator key');

const joinKeyOf = (trust: Trust | undefined) => (Buffer.isBuffer(trust) ? trust : trust?.joinKey);

const randomPort = () => 20000 + Math.floor(Math.random() * 20000);

/** A cluster file for nodes pi1.. at 127.0.0.21.., with the secrets file beside it unless `secrets` is false. */
async function loopCluster(port: number, nodes: number, secrets = true): Promise<{ dir: string; config: string }> {
  const dir = await tempDir('mcpi-status-');
  const config = join(dir, 'cluster.yaml');
  await writeFile(config, stringify({
    cluster: { name: 'loop', domain: 'loop.internal' }, admin: { user: 'ops', ssh_keys: [KEY] },
    network: { subnet: '127.0.0.0/24', gateway: '127.0.0.1', dns: ['127.0.0.1'] },
    nodes: Array.from({ length: nodes }, (_, i) => ({ name: `pi${i + 1}`, address: `127.0.0.${21 + i}` })),
    microcloud: { status_port: port },
  }));
  if (secrets) await writeFile(join(dir, 'cluster.secrets.yaml'), stringify({ session_passphrase: PASSPHRASE }), { mode: 0o600 });
  return { dir, config };
}

/** A status endpoint at `host` answering `status`, signed with whatever `key()` gives at the time. */
const serve = (host: string, port: number, status: NodeStatus, key: () => Buffer | undefined): Promise<StatusServer> =>
  startStatusServer({ host, port, names: [host], key, current: () => status });

async function statusOut(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(['status', ...args], { stdout: (t) => out.push(t), stderr: (l) => keep(l) && err.push(l), env });
  return { code, out: out.join(''), err };
}

const done = (node: string): NodeStatus => ({ node, step: 'done', state: 'done', since: '2026-11-22T10:00:00.000Z', detail: 'cluster formed' });

describe('build-image status', () => {
  it('prints each node\'s step and state, and says which nodes do not answer', async () => {
    const port = randomPort();
    const { config } = await loopCluster(port, 2);
    const server = await serve('127.0.0.21', port,
      { node: 'pi1', step: 'wait-peers', state: 'waiting', since: '2026-11-22T10:00:00.000Z', detail: 'waiting for pi2' }, () => JOIN_KEY);
    try {
      const { code, out, err } = await statusOut(['-c', config]);
      expect(code).toBe(0);
      expect(err).toEqual([]);
      const [summary, header, pi1, pi2] = out.trimEnd().split('\n');
      expect(summary).toBe('2 nodes: 0 done, 0 forming, 0 joining, 1 waiting, 0 stopped, 0 unverified, 1 no answer');
      expect(header).toMatch(/^NODE\s+ADDRESS\s+STEP\s+STATE\s+SINCE\s+DETAIL$/);
      expect(pi1).toMatch(/^pi1\s+127\.0\.0\.21\s+wait-peers\s+waiting\s+2026-11-22T10:00:00\.000Z\s+waiting for pi2$/);
      expect(pi2).toMatch(/^pi2\s+127\.0\.0\.22\s+-\s+no answer/);
      const json = await statusOut(['-c', config, '--json']);
      expect(JSON.parse(json.out)[0].status.step).toBe('wait-peers');
    } finally {
      await server.close();
    }
  });

  it('shows the last error of a failed node rather than its detail', () => {
    const table = formatStatusTable([{ node: 'pi3', address: '10.0.0.13',
      status: { node: 'pi3', step: 'preseed', state: 'failed', since: 't', detail: 'joining', lastError: 'microcloud preseed failed' } }]);
    expect(table).toMatch(/pi3 .*preseed .*failed .*microcloud preseed failed/);
  });

  it('keeps one line per node, and lists under the table what a node stopped by its preflight needs', () => {
    const table = formatStatusTable([
      { node: 'pi1', address: '10.0.0.11', status: { node: 'pi1', step: 'wait-peers', state: 'waiting', since: 't',
        detail: 'waiting for pi2 (stopped at preflight: preflight found 2 problems on this node; fix that node, then rebuild and reflash it)' } },
      { node: 'pi2', address: '10.0.0.12', status: { node: 'pi2', step: 'preflight', state: 'failed', since: 't', needsPerson: true,
        lastError: 'preflight found 2 problems on this node:\n(1) The uplink NIC eth1 does not exist.\n(2) snapd is 2.58.',
        preflight: { passed: false, problems: ['a', 'b'], warnings: ['This node has 3.7 GiB of memory'], notes: [] } } },
    ]).split('\n');
    expect(table[3]).toMatch(/^pi2\s+10\.0\.0\.12\s+preflight\s+failed\s+t\s+preflight found 2 problems on this node:$/);
    expect(table.slice(4)).toEqual(['', 'pi2 stopped at preflight; a person must act:', '  (1) The uplink NIC eth1 does not exist.',
      '  (2) snapd is 2.58.', '  warning: This node has 3.7 GiB of memory', '']);
  });

  it('warns under the table when a node keeps the site\'s agreed time instead of NTP, and not when NTP set it', () => {
    const table = formatStatusTable([
      { node: 'pi1', address: '10.0.0.11', status: { node: 'pi1', step: 'done', state: 'done', since: 't', clock: { source: 'own', now: 't' } } },
      { node: 'pi2', address: '10.0.0.12', status: { node: 'pi2', step: 'done', state: 'done', since: 't', clock: { source: 'initiator', now: 't' } } },
      { node: 'pi3', address: '10.0.0.13', status: { node: 'pi3', step: 'done', state: 'done', since: 't', clock: { source: 'ntp', now: 't' } } },
    ]).split('\n');
    expect(table.filter((l) => l.includes('agreed time'))).toEqual([
      '  warning: its clock is the site\'s agreed time (from its own clock), not NTP: the cluster agrees, but clocks drift apart and Ceph warns of clock skew within days. Give the site an NTP server in network.ntp.',
      '  warning: its clock is the site\'s agreed time (from the initiator), not NTP: the cluster agrees, but clocks drift apart and Ceph warns of clock skew within days. Give the site an NTP server in network.ntp.',
    ]);
    expect(table).not.toContain('pi3:');
  });

  it('warns under the table when a node answers with another host name (its seed was not applied)', () => {
    const service = { runtime: '/usr/lib/microcloud-pi/node', nodeVersion: 'v22', underSystemd: true };
    const table = formatStatusTable([
      { node: 'pi1', address: '10.0.0.11', status: { node: 'pi1', step: 'done', state: 'done', since: 't', service: { ...service, hostname: 'pi1' } } },
      { node: 'pi2', address: '10.0.0.12', status: { node: 'pi2', step: 'wait-ready', state: 'running', since: 't', service: { ...service, hostname: 'ubuntu' } } },
    ], { all: true }).split('\n');
    expect(table.slice(4)).toEqual(['', 'pi2:', '  warning: it answers as host "ubuntu", not "pi2": cloud-init did not apply its seed (is this the right card?)', '']);
  });

  it('shows a member adding a node, what it added, and the node that joined through it', () => {
    const table = formatStatusTable([
      { node: 'pi1', address: '10.0.0.11', status: { node: 'pi1', step: 'done', state: 'done', since: 't', detail: 'cluster formed',
        adding: { node: 'pi5', replacing: false, since: 't' }, added: ['pi4'] } },
      { node: 'pi2', address: '10.0.0.12', status: { node: 'pi2', step: 'done', state: 'done', since: 't', detail: 'cluster formed', added: ['pi3'] } },
      { node: 'pi3', address: '10.0.0.13', status: { node: 'pi3', step: 'done', state: 'done', since: 't', detail: 'cluster formed',
        joining: { via: 'pi2', replacing: true } } },
      { node: 'pi5', address: '10.0.0.15', status: { node: 'pi5', step: 'preseed', state: 'running', since: 't',
        detail: 'joining the formed MicroCloud through pi1', joining: { via: 'pi1', replacing: false } } },
    ], { all: true }).split('\n');
    expect(table[2]).toMatch(/^pi1 .* cluster formed; adding pi5$/);
    expect(table[3]).toMatch(/^pi2 .* cluster formed; added pi3$/);
    expect(table[4]).toMatch(/^pi3 .* cluster formed; joined through pi2, replacing the dead member$/);
    expect(table[5]).toMatch(/^pi5 .*preseed .*running .* joining the formed MicroCloud through pi1$/);
    const refused = formatStatusTable([{ node: 'pi1', address: '10.0.0.11', status: { node: 'pi1', step: 'done', state: 'done', since: 't',
      refused: { node: 'pi3', reason: 'pi3 is still a member of the cluster (offline). If that Pi is dead, rebuild ...', at: 'T' } } }]);
    expect(refused).toContain('\npi1:\n  warning: turned away pi3 at T: pi3 is still a member of the cluster (offline). If that Pi is dead, rebuild ...\n');
  });
});

describe('build-image status believes only statuses signed with the cluster\'s key', () => {
  const stoppedClaim: NodeStatus = { node: 'pi2', step: 'preflight', state: 'failed', since: 't', needsPerson: true, lastError: 'pay here' };
  it.each<[string, 'done' | 'unverified', NodeStatus, () => Buffer | undefined]>([
    ['signed with the cluster\'s key, done', 'done', done('pi2'), () => JOIN_KEY],
    ['not signed, claiming done', 'unverified', done('pi2'), () => undefined],
    ['signed with another cluster\'s key, claiming done', 'unverified', done('pi2'), () => OTHER_KEY],
    ['not signed, claiming it stopped for a person', 'unverified', stoppedClaim, () => undefined],
  ])('an answer at a node\'s address %s is %s', async (_what, phase, claim, key) => {
    const port = randomPort();
    const { config } = await loopCluster(port, 2);
    const servers = [await serve('127.0.0.21', port, done('pi1'), () => JOIN_KEY), await serve('127.0.0.22', port, claim, key)];
    try {
      const { code, out } = await statusOut(['-c', config, '--all']);
      expect(code).toBe(0);
      const lines = out.split('\n');
      expect(lines[0]).toBe(phase === 'done' ? '2 nodes: 2 done, 0 forming, 0 joining, 0 waiting, 0 stopped, 0 unverified, 0 no answer'
        : '2 nodes: 1 done, 0 forming, 0 joining, 0 waiting, 0 stopped, 1 unverified, 0 no answer');
      if (phase === 'unverified') {
        expect(lines[3]).toMatch(/^pi2\s+127\.0\.0\.22\s+-\s+unverified\s+-\s+answers, but not signed by this node with this cluster's keys \(another cluster, another card, or someone else at this address\)$/);
        expect(out).not.toContain('pay here'); // none of what it said is shown as a fact
      }
      const json = JSON.parse((await statusOut(['-c', config, '--json'])).out);
      expect(json[1]).toEqual(phase === 'done' ? { node: 'pi2', address: '127.0.0.22', status: claim }
        : { node: 'pi2', address: '127.0.0.22', unverified: true });
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('--watch goes on past a node that answers "done" unsigned, and ends when it is signed done', async () => {
    const port = randomPort();
    const { config } = await loopCluster(port, 3);
    let forgedKey: Buffer | undefined; // someone at pi3's address, until pi3 itself boots there
    const servers = [await serve('127.0.0.21', port, done('pi1'), () => JOIN_KEY), await serve('127.0.0.22', port, done('pi2'), () => JOIN_KEY),
      await serve('127.0.0.23', port, done('pi3'), () => forgedKey)];
    try {
      let looks = 0;
      const out: string[] = [];
      const err: string[] = [];
      const code = await run(['status', '-c', config, '--watch', '--json'], { stdout: (t) => out.push(t), stderr: (l) => keep(l) && err.push(l), env: {} },
        { sleep: async () => { if (++looks === 3) forgedKey = JOIN_KEY; } });
      expect(code).toBe(0);
      const summaries = out.join('').trimEnd().split('\n').map((l) => JSON.parse(l).summary);
      expect(summaries).toEqual([...Array(3).fill('3 nodes: 2 done, 0 forming, 0 joining, 0 waiting, 0 stopped, 1 unverified, 0 no answer'),
        '3 nodes: 3 done, 0 forming, 0 joining, 0 waiting, 0 stopped, 0 unverified, 0 no answer']);
      expect(err).toEqual(['all 3 nodes are done']);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('a secrets file that is not valid YAML is said to be that, at its line, not "has no session_passphrase"', async () => {
    const port = randomPort();
    const { dir, config } = await loopCluster(port, 1, false);
    await writeFile(join(dir, 'cluster.secrets.yaml'), 'session_passphrase: "an open quote\noperator_key: x\n', { mode: 0o600 });
    const server = await serve('127.0.0.21', port, done('pi1'), () => JOIN_KEY);
    try {
      const { code, err } = await statusOut(['-c', config]);
      expect(code).toBe(0);
      expect(err.join('\n')).toMatch(/cluster\.secrets\.yaml:1: is not valid YAML \(.*\), so no status can be checked .* Restore the file from a backup/);
      expect(err.join('\n')).not.toMatch(/has no session_passphrase/);
    } finally {
      await server.close();
    }
  });

  it('without the secrets file it says so, creates none, and shows every answer as unverified', async () => {
    const port = randomPort();
    const { dir, config } = await loopCluster(port, 1, false);
    const server = await serve('127.0.0.21', port, done('pi1'), () => JOIN_KEY);
    try {
      const { code, out, err } = await statusOut(['-c', config]);
      expect(code).toBe(0);
      expect(err.join('\n')).toMatch(/cluster\.secrets\.yaml: not found beside cluster\.yaml, so no status can be checked .* set MICROCLOUD_PI_PASSPHRASE/);
      expect(out).toMatch(/^1 node: 0 done, .* 1 unverified, 0 no answer\n/);
      expect(out).toMatch(/pi1 .* unverified .* no join key/);
      expect(await readdir(dir)).toEqual(['cluster.yaml']);
      const fromEnv = await statusOut(['-c', config], { MICROCLOUD_PI_PASSPHRASE: PASSPHRASE }); // as the build takes it
      expect(fromEnv.err).toEqual([]);
      expect(fromEnv.out).toMatch(/^1 node: 1 done, .* 0 unverified, 0 no answer\n/);
      expect(await readdir(dir)).toEqual(['cluster.yaml']);
    } finally {
      await server.close();
    }
  });
});

describe('build-image status prints no control characters a node sends', () => {
  const OSC52 = '\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07';
  const ERASE = '\r\x1b[2K';
  const RLO = '\u202e';
  /** What a terminal would act on: every control but the new lines we print, and the bidi and format controls. */
  const RAW = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;
  const hostile: NodeStatus = {
    node: 'pi1', step: `preflight${ERASE}` as NodeStatus['step'], state: 'failed', since: `t${RLO}`, needsPerson: true, detail: `d${OSC52}`,
    lastError: `first ${OSC52}\nsecond ${ERASE}done\nthird ${RLO}txt.exe`,
    preflight: { passed: false, problems: [], warnings: [`warn ${OSC52}`], notes: [] },
    refused: { node: `pi9${ERASE}`, reason: `reason ${RLO}`, at: 'T' },
    service: { runtime: 'r', nodeVersion: 'v22', underSystemd: true, hostname: `evil${OSC52}` },
  };

  it.each([
    ['the table', ['--all']],
    ['JSON', ['--json']],
    ['a --watch that stops for a person', ['--watch']],
    ['a --watch frame on a terminal', ['--watch', 'tty']],
  ])('in %s', async (_what, args) => {
    const port = randomPort();
    const { config } = await loopCluster(port, 1);
    const server = await serve('127.0.0.21', port, hostile, () => JOIN_KEY);
    try {
      const printed: string[] = [];
      const tty = args.includes('tty');
      const code = await run(['status', '-c', config, ...args.filter((a) => a !== 'tty')], {
        stdout: (t) => printed.push(t), stderr: (l) => keep(l) && printed.push(l), env: {},
        ...(tty ? { isTTY: true, write: (t: string) => printed.push(t.replace('\x1b[H\x1b[2J', '')) } : {}) });
      expect(code).toBe(args.includes('--watch') ? EXIT_NEEDS_PERSON : 0);
      const text = printed.join('\n');
      expect(text).not.toMatch(RAW);
      if (args.includes('--json')) expect(JSON.parse(text)[0].status).toEqual(hostile); // escaped, yet the same values
      else {
        expect(text).toContain('\\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\\x07');
        expect(text).toContain('\\u202e');
      }
      if (args.includes('--all')) expect(text).toContain('  second \\r\\x1b[2Kdone');
    } finally {
      await server.close();
    }
  });
});

/**
 * A cluster file with these nodes in 10.0.0.0/16, and its secrets file (status is never asked of
 * them: the tests hand in their answers, as signed when the read comes with the cluster's key).
 */
async function clusterFile(nodes: { name: string; address: string }[]): Promise<string> {
  const dir = await tempDir('mcpi-status-');
  const config = join(dir, 'cluster.yaml');
  await writeFile(config, stringify({
    cluster: { name: 'loop', domain: 'loop.internal' }, admin: { user: 'ops', ssh_keys: [KEY] },
    network: { subnet: '10.0.0.0/16', gateway: '10.0.0.1', dns: ['10.0.0.1'] }, nodes,
  }));
  await writeFile(join(dir, 'cluster.secrets.yaml'), stringify({ session_passphrase: PASSPHRASE }), { mode: 0o600 });
  return config;
}

describe('build-image status for fifty', () => {
  const at = (i: number) => `10.0.${Math.floor(i / 200)}.${10 + (i % 200)}`;
  const fifty = (phaseOf: (i: number) => NodeStatus | undefined): StatusRow[] =>
    Array.from({ length: 50 }, (_, i) => ({ node: `pi${i + 1}`, address: at(i), ...(phaseOf(i) ? { status: phaseOf(i)! } : {}) }));
  const doneAt = (i: number): NodeStatus => ({ ...done(`pi${i + 1}`), since: 't' });

  it('prints a summary line, then only the nodes that are not done; --all lists all', () => {
    const rows = fifty((i) => (i < 44 ? doneAt(i)
      : i === 44 ? { node: 'pi45', step: 'preseed', state: 'running', since: 't', detail: 'joining', joining: { via: 'pi1', replacing: false } }
        : i === 45 ? { node: 'pi46', step: 'install-snaps', state: 'running', since: 't' }
          : i === 46 ? { node: 'pi47', step: 'wait-peers', state: 'waiting', since: 't', detail: 'waiting for pi48' }
            : i === 47 ? { node: 'pi48', step: 'preflight', state: 'failed', since: 't', needsPerson: true, lastError: 'preflight found 1 problem' }
              : undefined));
    const lines = formatStatusTable(rows).trimEnd().split('\n');
    expect(lines[0]).toBe('50 nodes: 44 done, 1 forming, 1 joining, 1 waiting, 1 stopped, 0 unverified, 2 no answer');
    expect(lines[1]).toMatch(/^NODE/);
    expect(lines.slice(2, 8).map((l) => l.split(/\s+/)[0])).toEqual(['pi45', 'pi46', 'pi47', 'pi48', 'pi49', 'pi50']);
    expect(formatStatusTable(rows, { all: true }).split('\n').filter((l) => /^pi\d+ /.test(l))).toHaveLength(50);
    expect(formatStatusTable(fifty(doneAt))).toBe('50 nodes: 50 done, 0 forming, 0 joining, 0 waiting, 0 stopped, 0 unverified, 0 no answer\nevery node is done (--all lists them)\n');
  });

  it.each([
    ['every node done', fifty(doneAt), { done: true, exitCode: 0, message: 'all 50 nodes are done' }],
    ['one stopped for a person', fifty((i) => (i === 7 ? { node: 'pi8', step: 'preflight', state: 'failed', since: 't', needsPerson: true, lastError: 'snapd is 2.58.\nmore' } : doneAt(i))),
      { done: true, exitCode: EXIT_NEEDS_PERSON, message: 'pi8 stopped at preflight and needs a person: snapd is 2.58.' }],
    ['one not answering yet', fifty((i) => (i === 3 ? undefined : doneAt(i))), { done: false }],
    ['one answering, unsigned, that it is done', [...fifty(doneAt).slice(0, 49), { node: 'pi50', address: at(49), unverified: true as const }], { done: false }],
    ['one retrying after a temporary failure', fifty((i) => (i === 3 ? { node: 'pi4', step: 'install-snaps', state: 'failed', since: 't', lastError: 'store' } : doneAt(i))), { done: false }],
  ])('--watch: %s', (_what, rows, verdict) => {
    expect(watchVerdict(rows)).toEqual(verdict);
  });

  it('--watch looks again until every node is done: one JSON line a look, exit 0', async () => {
    const config = await clusterFile(Array.from({ length: 50 }, (_, i) => ({ name: `pi${i + 1}`, address: at(i) })));
    let look = 0;
    const reads: string[] = [];
    const readPeer = async (address: string, _port: number, key?: Trust) => {
      if (!joinKeyOf(key)?.equals(JOIN_KEY)) return undefined; // the fakes answer as signed: only to a read with the cluster's key
      reads.push(address);
      const i = reads.length - 1 - look * 50;
      return look < 2 && i === 49 ? { node: 'pi50', step: 'preseed' as const, state: 'running' as const, since: 't' } : doneAt(i);
    };
    const out: string[] = [];
    const err: string[] = [];
    const code = await run(['status', '-c', config, '--watch', '--json', '--interval', '2'], { stdout: (t) => out.push(t), stderr: (l) => keep(l) && err.push(l), env: {} },
      { readPeer, sleep: async (ms) => { expect(ms).toBe(2000); look++; }, now: () => Date.UTC(2026, 10, 30) });
    expect(code).toBe(0);
    const frames = out.join('').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(frames).toHaveLength(3);
    expect(frames[0]).toMatchObject({ at: '2026-11-30T00:00:00.000Z', summary: '50 nodes: 49 done, 1 forming, 0 joining, 0 waiting, 0 stopped, 0 unverified, 0 no answer' });
    expect(frames[2].summary).toBe('50 nodes: 50 done, 0 forming, 0 joining, 0 waiting, 0 stopped, 0 unverified, 0 no answer');
    expect(err).toEqual(['all 50 nodes are done']);
  });

  it('--watch on a terminal redraws in place, and exits 8 naming the node that needs a person', async () => {
    const config = await clusterFile([{ name: 'pi1', address: '10.0.0.11' }, { name: 'pi2', address: '10.0.0.12' }]);
    let looks = 0;
    const readPeer = async (address: string, _port: number, key?: Trust): Promise<NodeStatus | undefined> => {
      if (!joinKeyOf(key)?.equals(JOIN_KEY)) return undefined; // the fakes answer as signed: only to a read with the cluster's key
      return address === '10.0.0.12' && looks >= 1
        ? { node: 'pi2', step: 'preflight', state: 'failed', since: 't', needsPerson: true, lastError: 'the uplink NIC eth1 does not exist' }
        : { node: address === '10.0.0.11' ? 'pi1' : 'pi2', step: 'wait-peers', state: 'waiting', since: 't' };
    };
    const drawn: string[] = [];
    const err: string[] = [];
    const code = await run(['status', '-c', config, '-w'], { stdout: () => {}, write: (t) => drawn.push(t), isTTY: true, stderr: (l) => keep(l) && err.push(l), env: {} },
      { readPeer, sleep: async () => { looks++; } });
    expect(code).toBe(EXIT_NEEDS_PERSON);
    expect(drawn).toHaveLength(2);
    expect(drawn.every((f) => f.startsWith('\x1b[H\x1b[2J'))).toBe(true);
    expect(drawn[1]).toContain('2 nodes: 0 done, 0 forming, 0 joining, 1 waiting, 1 stopped, 0 unverified, 0 no answer');
    expect(err).toEqual(['pi2 stopped at preflight and needs a person: the uplink NIC eth1 does not exist']);
  });

  it.each([[['--interval', '5'], /--interval goes with --watch/], [['--watch', '--interval', '0'], /not a number of seconds from 1 to 3600/]])(
    'refuses %j', async (args, message) => {
      const err: string[] = [];
      expect(await run(['status', '-c', 'x.yaml', ...args], { stdout: () => {}, stderr: (l) => keep(l) && err.push(l), env: {} })).toBe(2);
      expect(err.join('\n')).toMatch(message);
    });
});
