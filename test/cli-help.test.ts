// What a newcomer types first: --help on every command, a typo in an option, a node named twice.
import { cp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../builder/cli/run.js';
import { EXIT } from '../builder/cli/report-error.js';
import { SUBCOMMANDS } from '../builder/cli/help.js';
import { EXIT_NEEDS_PERSON } from '../builder/status.js';
import { exampleFile } from './helpers/examples.js';
import { fakeNodeRuntime } from './helpers/raspi-fixture.js';
import { tempDir } from './helpers/temp-dir.js';

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, { stdout: (t) => out.push(t), stderr: (l) => err.push(l), env: {} });
  return { code, stdout: out.join(''), stderr: err.join('\n') };
}

/** The lines of the top help's "Exit codes:" section. */
const exitSection = (help: string): string => help.slice(help.indexOf('\nExit codes:\n'));

describe('--help', () => {
  it.each(SUBCOMMANDS.flatMap((s) => [[s, '--help'], [s, '-h']]))('build-image %s %s prints that command\'s usage and exits 0', async (command, flag) => {
    const r = await cli([command, flag]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: build-image ${command} `));
    expect(r.stdout).toMatch(/\nExit codes:\n {2}0 /);
    expect(r.stderr).toBe('');
  });

  it('answers --help among other options too, before it checks them', async () => {
    const r = await cli(['flash', 'pi1.img', '--help']);
    expect([r.code, r.stdout]).toEqual([0, expect.stringMatching(/^Usage: build-image flash IMAGE DEVICE/)]);
  });

  it('lists every exit code the tool uses, 8 of status --watch among them', async () => {
    const { stdout } = await cli(['--help']);
    const codes = new Set<number>([...Object.values(EXIT), EXIT_NEEDS_PERSON]);
    for (const code of codes) expect(exitSection(stdout)).toMatch(new RegExp(`^ {2}(\\d+, )*${code}\\b`, 'm'));
    expect(exitSection(stdout)).toMatch(/^ {2}8 {2}status --watch: a node stopped and needs a person/m);
  });

  it('says what --seed-only writes: every entry of a node\'s folder, and no file it does not write', async () => {
    const dir = await tempDir('mcpi-help-');
    const config = join(dir, 'cluster.yaml');
    await cp(exampleFile('single-node'), config);
    const out = join(dir, 'out');
    const built = await cli(['-c', config, '--all', '--seed-only', '-o', out, '--node-runtime', await fakeNodeRuntime(), '--cache', join(dir, 'cache')]);
    expect(built.code).toBe(0);
    const [node] = await readdir(out);
    const written = await readdir(join(out, node!), { withFileTypes: true });
    const { stdout } = await cli(['--help']);
    const seedOnly = stdout.slice(stdout.indexOf('--seed-only     '), stdout.indexOf('--base-image FILE\n'));
    for (const entry of written) expect(seedOnly).toContain(entry.isDirectory() ? `${entry.name}/` : entry.name);
    expect(stdout).not.toContain('microcloud-preseed.yaml');
  });
});

describe('a mistyped option or command', () => {
  it.each([
    [['--seedonly'], /Unknown option '--seedonly'\. Did you mean --seed-only\? See build-image --help\./],
    [['--seed_only'], /Did you mean --seed-only\?/],
    [['--nod', 'pi1'], /Did you mean --node\?/],
    [['--compres', 'xz'], /Did you mean --compress\?/],
    [['stauts'], /Unknown command 'stauts'\. Did you mean build-image status\?/],
    [['status', '--wach'], /Unknown option '--wach'\. Did you mean --watch\? See build-image status --help\./],
    [['flash', 'a.img', 'b', '--forse'], /Did you mean --force\? See build-image flash --help\./],
    [['revoke', '--nodes', 'pi1'], /Did you mean --node\?/],
    [['doctor', '--jsn'], /Did you mean --json\?/],
  ])('%j gets a "did you mean" and exit 2', async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('guesses nothing for an option far from every known one', async () => {
    const r = await cli(['--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Unknown option '--frobnicate'\. See build-image --help\./);
  });
});

describe('a node named twice', () => {
  it('is built once', async () => {
    const dir = await tempDir('mcpi-twice-');
    const config = join(dir, 'cluster.yaml');
    await cp(exampleFile('three-pis-ceph'), config);
    const r = await cli(['-c', config, '--node', 'pi1', '--node', 'pi2', '--node', 'pi1', '--seed-only', '-o', join(dir, 'out'), '--json',
      '--node-runtime', await fakeNodeRuntime(), '--cache', join(dir, 'cache')]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { seeds: { node: string }[] }).seeds.map((s) => s.node)).toEqual(['pi1', 'pi2']);
    expect(r.stderr.match(/^pi1: /gm)).toHaveLength(1);
  });
});
