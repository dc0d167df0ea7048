// build-image status reads every node's real HTTP status endpoint and prints one table.
import { tempDir } from './helpers/temp-dir.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { run } from '../builder/cli/run.js';
import { formatStatusTable } from '../builder/status.js';
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
      const [header, pi1, pi2] = out.join('').trimEnd().split('\n');
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
    expect(table[2]).toMatch(/^pi2\s+10\.0\.0\.12\s+preflight\s+failed\s+t\s+preflight found 2 problems on this node:$/);
    expect(table.slice(3)).toEqual(['', 'pi2 stopped at preflight; a person must act:', '  (1) The uplink NIC eth1 does not exist.',
      '  (2) snapd is 2.58.', '  warning: This node has 3.7 GiB of memory', '']);
  });

  it('warns under the table when a node answers with another host name (its seed was not applied)', () => {
    const service = { runtime: '/usr/lib/microcloud-pi/node', nodeVersion: 'v22', underSystemd: true };
    const table = formatStatusTable([
      { node: 'pi1', address: '10.0.0.11', status: { node: 'pi1', step: 'done', state: 'done', since: 't', service: { ...service, hostname: 'pi1' } } },
      { node: 'pi2', address: '10.0.0.12', status: { node: 'pi2', step: 'wait-ready', state: 'running', since: 't', service: { ...service, hostname: 'ubuntu' } } },
    ]).split('\n');
    expect(table.slice(3)).toEqual(['', 'pi2:', '  warning: it answers as host "ubuntu", not "pi2": cloud-init did not apply its seed (is this the right card?)', '']);
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
    ]).split('\n');
    expect(table[1]).toMatch(/^pi1 .* cluster formed; adding pi5$/);
    expect(table[2]).toMatch(/^pi2 .* cluster formed; added pi3$/);
    expect(table[3]).toMatch(/^pi3 .* cluster formed; joined through pi2, replacing the dead member$/);
    expect(table[4]).toMatch(/^pi5 .*preseed .*running .* joining the formed MicroCloud through pi1$/);
    const refused = formatStatusTable([{ node: 'pi1', address: '10.0.0.11', status: { node: 'pi1', step: 'done', state: 'done', since: 't',
      refused: { node: 'pi3', reason: 'pi3 is still a member of the cluster (offline). If that Pi is dead, rebuild ...', at: 'T' } } }]);
    expect(refused).toContain('\npi1:\n  warning: turned away pi3 at T: pi3 is still a member of the cluster (offline). If that Pi is dead, rebuild ...\n');
  });
});
