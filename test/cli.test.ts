// build-image as users run it: exit codes, files and modes, secrets kept and reused.
import { tempDir } from './helpers/temp-dir.js';
import { cp, readdir, readFile, stat, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { load } from 'js-yaml';
import { run } from '../builder/cli/run.js';
import { exampleFile, REPO } from './helpers/examples.js';
import { fakeNodeRuntime } from './helpers/raspi-fixture.js';
import { PRESEED_PATH } from '../builder/render/node-config.js';

let runtime: string;
let cache: string;
beforeAll(async () => {
  runtime = await fakeNodeRuntime();
  cache = await tempDir('mcpi-cli-cache-');
});

/** build-image in process; --seed-only builds get the runtime TEST DOUBLE and a cache of the test's own. */
async function cli(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv.includes('--seed-only') ? [...argv, '--node-runtime', runtime, '--cache', cache] : argv, { stdout: (t) => out.push(t), stderr: (l) => err.push(l), env });
  return { code, stdout: out.join(''), stderr: err.join('\n') };
}

async function workspace(example = 'three-pis-ceph') {
  const dir = await tempDir('mcpi-cli-');
  await cp(exampleFile(example), join(dir, 'cluster.yaml'));
  return { dir, config: join(dir, 'cluster.yaml'), out: join(dir, 'out') };
}

/** The join passphrase in a seed folder's user-data (the preseed it writes). */
async function passphrase(seedDir: string): Promise<string> {
  const userData = load(await readFile(join(seedDir, 'user-data'), 'utf8')) as { write_files: { path: string; content: string }[] };
  const preseed = userData.write_files.find((f) => f.path === PRESEED_PATH)!.content;
  return (load(preseed) as { session_passphrase: string }).session_passphrase;
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('build-image --seed-only', () => {
  it('writes one node\'s seed files, secrets root-only, and exits 0', async () => {
    const ws = await workspace();
    const r = await cli(['--config', ws.config, '--node', 'pi2', '--seed-only', '--out', ws.out]);
    expect(r.code).toBe(0);
    expect(await readdir(ws.out)).toEqual(['pi2']);
    // Exactly what goes onto the card: the seed and the first-boot folder; no loose copy of the preseed.
    expect((await readdir(join(ws.out, 'pi2'))).sort()).toEqual(['meta-data', 'microcloud-pi', 'network-config', 'user-data']);
    expect((await readdir(join(ws.out, 'pi2', 'microcloud-pi'))).sort()).toEqual(
      ['SHA256SUMS', 'build.json', 'firstboot.mjs', 'install.sh', 'microcloud-pi-firstboot.service', 'node.gz']);
    expect(await mode(join(ws.out, 'pi2', 'user-data'))).toBe(0o600);
    expect(await mode(join(ws.out, 'pi2', 'network-config'))).toBe(0o644);
    expect(await mode(join(ws.dir, 'cluster.secrets.yaml'))).toBe(0o600);
    expect(r.stdout.trim()).toBe(join(ws.out, 'pi2'));
    expect(r.stderr).toMatch(/Created .*cluster\.secrets\.yaml/);
  });

  it('writes every node with --all and reuses the passphrase on the next build', async () => {
    const ws = await workspace();
    expect((await cli(['-c', ws.config, '--all', '--seed-only', '-o', ws.out])).code).toBe(0);
    const first = await passphrase(join(ws.out, 'pi1'));
    expect(first).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await passphrase(join(ws.out, 'pi3'))).toBe(first);
    const again = await cli(['-c', ws.config, '--node', 'pi1', '--seed-only', '-o', ws.out]);
    expect(again.stderr).not.toMatch(/Created/);
    expect(await passphrase(join(ws.out, 'pi1'))).toBe(first);
    expect((await readdir(ws.out)).sort()).toEqual(['pi1', 'pi2', 'pi3']); // no temporary left behind
  });

  it('never prints the passphrase', async () => {
    const ws = await workspace();
    const r = await cli(['-c', ws.config, '--all', '--seed-only', '-o', ws.out, '--json']);
    const secret = (load(await readFile(join(ws.dir, 'cluster.secrets.yaml'), 'utf8')) as { session_passphrase: string }).session_passphrase;
    expect(r.stdout + r.stderr).not.toContain(secret);
    expect(JSON.parse(r.stdout).seeds).toHaveLength(3);
  });

  it('takes the passphrase from MICROCLOUD_PI_PASSPHRASE without creating a file', async () => {
    const ws = await workspace();
    const r = await cli(['-c', ws.config, '--node', 'pi1', '--seed-only', '-o', ws.out], { MICROCLOUD_PI_PASSPHRASE: 'from-the-environment-0123' });
    expect(r.code).toBe(0);
    expect(await passphrase(join(ws.out, 'pi1'))).toBe('from-the-environment-0123');
    await expect(stat(join(ws.dir, 'cluster.secrets.yaml'))).rejects.toThrow();
  });

  it('refuses a secrets file others can read', async () => {
    const ws = await workspace();
    const secrets = join(ws.dir, 'cluster.secrets.yaml');
    await writeFile(secrets, 'session_passphrase: abcdefghijklmnopqrstuvwxyz\n');
    await chmod(secrets, 0o644);
    const r = await cli(['-c', ws.config, '--all', '--seed-only', '-o', ws.out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cluster\.secrets\.yaml: the file is readable by other users \(mode 0644\).*chmod 600/);
    await expect(stat(ws.out)).rejects.toThrow();
  });

  it('refuses a secrets file without a usable passphrase', async () => {
    const ws = await workspace();
    await writeFile(join(ws.dir, 'cluster.secrets.yaml'), 'session_passphrase: short\n', { mode: 0o600 });
    const r = await cli(['-c', ws.config, '--all', '--seed-only', '-o', ws.out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/session_passphrase: has no session_passphrase of at least 16/);
  });
});

describe('build-image errors', () => {
  it.each([
    [['--all', '--node', 'pi1', '--seed-only'], /either --node or --all/],
    [['--seed-only'], /Say which node/],
    [['--all', '--base-image', 'x.img', '--image', 'ubuntu-24.04-raspi', '--arch', 'amd64'], /--arch amd64 contradicts --image ubuntu-24.04-raspi, which is arm64/],
    [['--all', '--image', 'debian-13-standin-amd64'], /built on this machine \(ci\/boot\/build-standin-base.sh\).*--base-image FILE --image debian-13-standin-amd64/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
  ])('exits 2 on bad arguments %j', async (argv, message) => {
    const ws = await workspace();
    const r = await cli(['-c', ws.config, ...argv]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('exits 2 naming the known nodes for an unknown --node, writing nothing', async () => {
    const ws = await workspace();
    const r = await cli(['-c', ws.config, '--node', 'pi1', '--node', 'pi9', '--seed-only', '-o', ws.out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('There is no node "pi9" in this cluster. Known nodes: pi1, pi2, pi3.');
    await expect(stat(ws.out)).rejects.toThrow();
  });

  it('exits 2 for a missing cluster file, naming it', async () => {
    const r = await cli(['-c', '/nonexistent/cluster.yaml', '--all', '--seed-only']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^\/nonexistent\/cluster\.yaml: the file does not exist\. Pass the cluster file with --config/);
  });

  it('exits 2 for an invalid cluster file and lists every problem', async () => {
    const ws = await workspace();
    const text = await readFile(ws.config, 'utf8');
    await writeFile(ws.config, text.replace('10.20.0.12', '10.20.9.12').replace('name: pi3', 'name: pi1'));
    const r = await cli(['-c', ws.config, '--all', '--seed-only', '-o', ws.out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cluster\.yaml:\d+: nodes\[1\]\.address: 10\.20\.9\.12 is outside/);
    expect(r.stderr).toMatch(/cluster\.yaml:\d+: nodes\[2\]\.name: "pi1" is already the name of nodes\[0\]/);
    expect(r.stderr).toMatch(/2 problems found; nothing was written\./);
  });

  it('--check validates without writing anything', async () => {
    const ws = await workspace();
    const r = await cli(['-c', ws.config, '--check']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/valid, 3 nodes/);
    expect(await readdir(ws.dir)).toEqual(['cluster.yaml']);
  });

  it('--help documents the options and the exit codes', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--config', '--node', '--all', '--seed-only', '--out', '--json', '--debug', 'Exit codes'])
      expect(r.stdout).toContain(flag);
  });
});

describe('the installed command', () => {
  it('runs from a shell with exit code 2 and no stack trace on a bad file', async () => {
    const ws = await workspace();
    await writeFile(ws.config, 'cluster: [\n');
    const r = await execa('node', ['--import', 'tsx', join(REPO, 'builder', 'cli', 'main.ts'), '-c', ws.config, '--all', '--seed-only'],
      { reject: false, cwd: REPO });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/cluster\.yaml:1: the file is not valid YAML: the "\[" on this line is not closed with "\]"/);
    expect(r.stderr).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });
});
