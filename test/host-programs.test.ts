// A machine without the programs a job drives: every missing one is named with the command that
// installs it, the exit code is 7, and nothing is written (not even the secrets file).
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../builder/cli/run.js';
import { findProgram } from '../builder/host-programs/find-programs.js';
import { programSearchPath } from '../builder/command-runner.js';
import { programsForBuild, PROGRAMS } from '../builder/host-programs/programs.js';
import { exampleFile } from './helpers/examples.js';
import { fakeNodeRuntime, makeRaspiImage } from './helpers/raspi-fixture.js';
import { tempDir } from './helpers/temp-dir.js';
import { execa } from 'execa';

const REAL_PATH = programSearchPath(process.env.PATH);

/** A directory holding links to every program but the ones left out: the PATH of a bare laptop. */
async function pathWithout(...leftOut: string[]): Promise<string> {
  const dir = await tempDir('mcpi-path-');
  for (const p of PROGRAMS) {
    if (leftOut.includes(p.name)) continue;
    const real = await findProgram(p.name, REAL_PATH);
    if (real) await symlink(real, join(dir, p.name));
  }
  return dir;
}

async function cli(argv: string[], programPath: string) {
  const err: string[] = [];
  const out: string[] = [];
  const code = await run(argv, { stdout: (t) => out.push(t), stderr: (l) => err.push(l), env: {} }, { programPath });
  return { code, stderr: err.join('\n'), stdout: out.join('') };
}

async function workspace() {
  const dir = await tempDir('mcpi-programs-');
  const config = join(dir, 'cluster.yaml');
  await writeFile(config, await (await import('node:fs/promises')).readFile(exampleFile('three-pis-ceph'), 'utf8'));
  return { dir, config, out: join(dir, 'out'), cache: join(dir, 'cache') };
}

let baseImage: string;
let runtime: string;
beforeAll(async () => {
  baseImage = await makeRaspiImage('programs-base', [], { xz: true });
  runtime = await fakeNodeRuntime();
});

const imageBuildPrograms = programsForBuild({ download: false, xzBase: true, compression: 'zst' })
  .map((n) => n.program);

describe('a build on a machine that lacks a program', () => {
  it.each(imageBuildPrograms.map((p) => [p.name, p.packages.debian]))('names %s and apt-get install %s, writes nothing, exits 7', async (name, pkg) => {
    const ws = await workspace();
    const r = await cli(['-c', ws.config, '--all', '--base-image', baseImage, '--compress', 'zst',
      '--node-runtime', runtime, '--cache', ws.cache, '-o', ws.out], await pathWithout(name));
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(new RegExp(`^  ${name}: `, 'm'));
    expect(r.stderr).toMatch(new RegExp(`sudo apt-get install ${pkg}\\b`));
    expect(r.stderr).toMatch(/sudo dnf install .*\n.*brew install /);
    expect(await readdir(ws.dir)).toEqual(['cluster.yaml']); // no secrets file, no out, no cache
  });

  it('needs no program to download, verify and unpack a base, nor to build raw images', () => {
    expect(programsForBuild({ download: true, xzBase: true, compression: 'none' })).toEqual([]);
  });

  it('builds a raw image from a raw base with none of the programs', async () => {
    const ws = await workspace();
    const raw = join(ws.dir, 'base.img');
    await execa('sh', ['-c', `xz -dc '${baseImage}' > '${raw}'`]);
    const r = await cli(['-c', ws.config, '--all', '--base-image', raw, '--node-runtime', runtime, '--cache', ws.cache, '-o', ws.out],
      await tempDir('mcpi-empty-'));
    expect([r.code, r.stderr]).toEqual([0, expect.not.stringMatching(/missing/)]);
  }, 120_000);

  it('needs nothing for --seed-only', async () => {
    const ws = await workspace();
    const empty = await tempDir('mcpi-empty-');
    expect((await cli(['-c', ws.config, '--all', '--seed-only', '--node-runtime', runtime, '--cache', ws.cache, '-o', ws.out], empty)).code).toBe(0);
  });
});

describe('build-image doctor', () => {
  it('lists every program with its version and the jobs that need it', async () => {
    const r = await cli(['doctor', '--json'], REAL_PATH);
    expect(r.code).toBe(0);
    const { programs } = JSON.parse(r.stdout) as { programs: { program: string; found: boolean; version: string; neededFor: string[] }[] };
    expect(programs.map((p) => p.program)).toEqual(PROGRAMS.map((p) => p.name));
    expect(programs.every((p) => p.found && p.version && p.neededFor.length)).toBe(true);
    expect(programs.find((p) => p.program === 'xz')!.version).toMatch(/XZ Utils/);
  });

  it('says MISSING and exits 7 when a program is not there', async () => {
    const r = await cli(['doctor'], await pathWithout('zstd'));
    expect(r.code).toBe(7);
    expect(r.stdout).toMatch(/^zstd +MISSING +\(zstd compression, flash of \.img\.zst\)$/m);
    expect(r.stderr).toMatch(/apt-get install zstd/);
  });
});

describe('flash on a machine without the decompressor', () => {
  it('names xz for an .img.xz and writes nothing', async () => {
    const dir = await tempDir('mcpi-flash-');
    await mkdir(join(dir, 'in'));
    const target = join(dir, 'card.img');
    const r = await cli(['flash', baseImage, target, '--yes'], await pathWithout('xz'));
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/^  xz: /m);
    expect(await readdir(dir)).toEqual(['in']);
  });
});
