// build-image status reads every node's real HTTP status endpoint and prints one table.
import { tempDir } from './helpers/temp-dir.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { run } from '../builder/cli/run.js';
import { EXIT_NEEDS_PERSON, formatStatusTable, watchVerdict, type StatusRow } from '../builder/status.js';
import type { NodeStatus } from '../firstboot/run/types.js';
import { startStatusServer } from '../firstboot/status/status-server.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@laptop';

describe('build-image status', () => {
  it('prints each node\'s step and state, and says which nodes do not answer', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const dir = await tempDir('mcpi-status-');
    const config = join(dir, 'cluster.yaml');
    await writeFile(config, stringify({
      cluster: { name: 'loop', domain: 'loop.internal' }, admin: { user: 'ops', ssh_keys: [KEY] },
      network: { subnet: '127.0.0.0/24', gateway: '127.0.0.1', dns: ['127.0.0.1'] },
      nodes: [{ name: 'pi1', address: '127.0.0.21' }, { name: 'pi2', address: '127.0.0.22' }],
      microcloud: { status_port: port },
    }));
    const server = await startStatusServer({ host: '127.0.0.21', port, names: ['127.0.0.21'], key: () => undefined, current: () =>
      ({ node: 'pi1', step: 'wait-peers', state: 'waiting', since: '2026-11-22T10:00:00.000Z', detail: 'waiting for pi2' }) });
    try {
      const out: string[] = [];
      const code = await run(['status', '-c', config], { stdout: (t) => out.push(t), stderr: () => {}, env: {} });
      expect(code).toBe(0);
      const [summary, header, pi1, pi2] = out.join('').trimEnd().split('\n');
      expect(summary).toBe('2 nodes: 0 done, 0 forming, 0 joining, 1 waiting, 0 stopped, 1 no answer');
      expect(header).toMatch(/^NODE\s+ADDRESS\s+STEP\s+STATE\s+SINCE\s+DETAIL$/);
      expect(pi1).toMatch(/^pi1\s+127\.0\.0\.21\s+wait-peers\s+waiting\s+2026-11-22T10:00:00\.000Z\s+waiting for pi2$/);
      expect(pi2).toMatch(/^pi2\s+127\.0\.0\.22\s+-\s+no answer/);
      const json: string[] = [];
      await run(['status', '-c', config, '--json'], { stdout: (t) => json.push(t), stderr: () => {}, env: {} });
      expect(JSON.parse(json.join(''))[0].status.step).toBe('wait-peers');
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

/** A cluster file with these nodes in 10.0.0.0/16 (status is never asked of them: the tests hand in their answers). */
async function clusterFile(nodes: { name: string; address: string }[]): Promise<string> {
  const config = join(await tempDir('mcpi-status-'), 'cluster.yaml');
  await writeFile(config, stringify({
    cluster: { name: 'loop', domain: 'loop.internal' }, admin: { user: 'ops', ssh_keys: [KEY] },
    network: { subnet: '10.0.0.0/16', gateway: '10.0.0.1', dns: ['10.0.0.1'] }, nodes,
  }));
  return config;
}

describe('build-image status for fifty', () => {
  const at = (i: number) => `10.0.${Math.floor(i / 200)}.${10 + (i % 200)}`;
  const fifty = (phaseOf: (i: number) => NodeStatus | undefined): StatusRow[] =>
    Array.from({ length: 50 }, (_, i) => ({ node: `pi${i + 1}`, address: at(i), ...(phaseOf(i) ? { status: phaseOf(i)! } : {}) }));
  const done = (i: number): NodeStatus => ({ node: `pi${i + 1}`, step: 'done', state: 'done', since: 't', detail: 'cluster formed' });

  it('prints a summary line, then only the nodes that are not done; --all lists all', () => {
    const rows = fifty((i) => (i < 44 ? done(i)
      : i === 44 ? { node: 'pi45', step: 'preseed', state: 'running', since: 't', detail: 'joining', joining: { via: 'pi1', replacing: false } }
        : i === 45 ? { node: 'pi46', step: 'install-snaps', state: 'running', since: 't' }
          : i === 46 ? { node: 'pi47', step: 'wait-peers', state: 'waiting', since: 't', detail: 'waiting for pi48' }
            : i === 47 ? { node: 'pi48', step: 'preflight', state: 'failed', since: 't', needsPerson: true, lastError: 'preflight found 1 problem' }
              : undefined));
    const lines = formatStatusTable(rows).trimEnd().split('\n');
    expect(lines[0]).toBe('50 nodes: 44 done, 1 forming, 1 joining, 1 waiting, 1 stopped, 2 no answer');
    expect(lines[1]).toMatch(/^NODE/);
    expect(lines.slice(2, 8).map((l) => l.split(/\s+/)[0])).toEqual(['pi45', 'pi46', 'pi47', 'pi48', 'pi49', 'pi50']);
    expect(formatStatusTable(rows, { all: true }).split('\n').filter((l) => /^pi\d+ /.test(l))).toHaveLength(50);
    expect(formatStatusTable(fifty(done))).toBe('50 nodes: 50 done, 0 forming, 0 joining, 0 waiting, 0 stopped, 0 no answer\nevery node is done (--all lists them)\n');
  });

  it.each([
    ['every node done', fifty(done), { done: true, exitCode: 0, message: 'all 50 nodes are done' }],
    ['one stopped for a person', fifty((i) => (i === 7 ? { node: 'pi8', step: 'preflight', state: 'failed', since: 't', needsPerson: true, lastError: 'snapd is 2.58.\nmore' } : done(i))),
      { done: true, exitCode: EXIT_NEEDS_PERSON, message: 'pi8 stopped at preflight and needs a person: snapd is 2.58.' }],
    ['one not answering yet', fifty((i) => (i === 3 ? undefined : done(i))), { done: false }],
    ['one retrying after a temporary failure', fifty((i) => (i === 3 ? { node: 'pi4', step: 'install-snaps', state: 'failed', since: 't', lastError: 'store' } : done(i))), { done: false }],
  ])('--watch: %s', (_what, rows, verdict) => {
    expect(watchVerdict(rows)).toEqual(verdict);
  });

  it('--watch looks again until every node is done: one JSON line a look, exit 0', async () => {
    const config = await clusterFile(Array.from({ length: 50 }, (_, i) => ({ name: `pi${i + 1}`, address: at(i) })));
    let look = 0;
    const reads: string[] = [];
    const readPeer = async (address: string) => {
      reads.push(address);
      const i = reads.length - 1 - look * 50;
      return look < 2 && i === 49 ? { node: 'pi50', step: 'preseed' as const, state: 'running' as const, since: 't' } : done(i);
    };
    const out: string[] = [];
    const err: string[] = [];
    const code = await run(['status', '-c', config, '--watch', '--json', '--interval', '2'], { stdout: (t) => out.push(t), stderr: (l) => err.push(l), env: {} },
      { readPeer, sleep: async (ms) => { expect(ms).toBe(2000); look++; }, now: () => Date.UTC(2026, 10, 30) });
    expect(code).toBe(0);
    const frames = out.join('').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(frames).toHaveLength(3);
    expect(frames[0]).toMatchObject({ at: '2026-11-30T00:00:00.000Z', summary: '50 nodes: 49 done, 1 forming, 0 joining, 0 waiting, 0 stopped, 0 no answer' });
    expect(frames[2].summary).toBe('50 nodes: 50 done, 0 forming, 0 joining, 0 waiting, 0 stopped, 0 no answer');
    expect(err).toEqual(['all 50 nodes are done']);
  });

  it('--watch on a terminal redraws in place, and exits 8 naming the node that needs a person', async () => {
    const config = await clusterFile([{ name: 'pi1', address: '10.0.0.11' }, { name: 'pi2', address: '10.0.0.12' }]);
    let looks = 0;
    const readPeer = async (address: string): Promise<NodeStatus> => (address === '10.0.0.12' && looks >= 1
      ? { node: 'pi2', step: 'preflight', state: 'failed', since: 't', needsPerson: true, lastError: 'the uplink NIC eth1 does not exist' }
      : { node: address === '10.0.0.11' ? 'pi1' : 'pi2', step: 'wait-peers', state: 'waiting', since: 't' });
    const drawn: string[] = [];
    const err: string[] = [];
    const code = await run(['status', '-c', config, '-w'], { stdout: () => {}, write: (t) => drawn.push(t), isTTY: true, stderr: (l) => err.push(l), env: {} },
      { readPeer, sleep: async () => { looks++; } });
    expect(code).toBe(EXIT_NEEDS_PERSON);
    expect(drawn).toHaveLength(2);
    expect(drawn.every((f) => f.startsWith('\x1b[H\x1b[2J'))).toBe(true);
    expect(drawn[1]).toContain('2 nodes: 0 done, 0 forming, 0 joining, 1 waiting, 1 stopped, 0 no answer');
    expect(err).toEqual(['pi2 stopped at preflight and needs a person: the uplink NIC eth1 does not exist']);
  });

  it.each([[['--interval', '5'], /--interval goes with --watch/], [['--watch', '--interval', '0'], /not a number of seconds from 1 to 3600/]])(
    'refuses %j', async (args, message) => {
      const err: string[] = [];
      expect(await run(['status', '-c', 'x.yaml', ...args], { stdout: () => {}, stderr: (l) => err.push(l), env: {} })).toBe(2);
      expect(err.join('\n')).toMatch(message);
    });
});
