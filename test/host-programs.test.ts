// A machine without the programs a job drives: every missing one is named with the command that
// installs it, the exit code is 7, and nothing is written (not even the secrets file).
import { readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, type RunDeps } from '../builder/cli/run.js';
import { findProgram } from '../builder/host-programs/find-programs.js';
import { programSearchPath } from '../builder/command-runner.js';
import { installCommands, programNamed, programsForBuild, PROGRAMS } from '../builder/host-programs/programs.js';
import { xzCompressor } from '../builder/image/codecs.js';
import { loadErrorGist, NO_LZMA_NATIVE_ENV, NO_NODE_LIBLZMA_ENV } from '../builder/image/xz-libraries.js';
import { compressorLine } from '../builder/cli/commands/doctor.js';
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

async function cli(argv: string[], programPath: string, deps: Partial<RunDeps> = {}) {
  const err: string[] = [];
  const out: string[] = [];
  const code = await run(argv, { stdout: (t) => out.push(t), stderr: (l) => err.push(l), env: {} }, { programPath, ...deps });
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

describe('a build on a machine without the programs', () => {
  it('names xz and apt-get install xz-utils, writes nothing, exits 7, where no liblzma binding loads (forced here)', async () => {
    const ws = await workspace();
    process.env[NO_LZMA_NATIVE_ENV] = '1';
    try {
      const r = await cli(['-c', ws.config, '--all', '--base-image', baseImage, '--compress', 'xz',
        '--node-runtime', runtime, '--cache', ws.cache, '-o', ws.out], await pathWithout('xz'));
      expect(r.code).toBe(7);
      expect(r.stderr).toMatch(/^  xz: /m);
      expect(r.stderr).toMatch(/sudo apt-get install xz-utils\b/);
      expect(r.stderr).toMatch(/sudo dnf install .*\n.*brew install /);
      expect(await readdir(ws.dir)).toEqual(['cluster.yaml']); // no secrets file, no out, no cache
    } finally {
      delete process.env[NO_LZMA_NATIVE_ENV];
    }
  });

  it('needs no program to download, verify and unpack a base, nor to build raw or compressed images', () => {
    for (const compression of ['none', 'xz', 'zst'] as const)
      expect(programsForBuild({ download: true, xzBase: true, compression, xzInProcess: true })).toEqual([]);
    expect(programsForBuild({ download: false, xzBase: false, compression: 'xz', xzInProcess: false }).map((n) => n.program.name)).toEqual(['xz']);
  });

  it.each(['xz', 'zst'])('builds .img.%s images with none of the programs, and flashes them with none', async (compression) => {
    const ws = await workspace();
    const r = await cli(['-c', ws.config, '--node', 'pi1', '--base-image', baseImage, '--compress', compression,
      '--node-runtime', runtime, '--cache', ws.cache, '-o', ws.out], await tempDir('mcpi-empty-'));
    expect([r.code, r.stderr]).toEqual([0, expect.not.stringMatching(/missing/)]);
    const image = join(ws.out, `pi1.img.${compression}`);
    const card = join(ws.dir, 'card.img');
    await writeFile(card, ''); // flash writes over what exists: a card, or here a file
    const flashed = await cli(['flash', image, card, '--yes'], await tempDir('mcpi-empty-'));
    expect([flashed.code, flashed.stderr]).toEqual([0, expect.stringMatching(/Checking against .*manifest\.json/)]);
    // The programs agree: the card holds what the file decodes to.
    const tool = compression === 'xz' ? 'xz' : 'zstd';
    const decoded = join(ws.dir, 'decoded.img');
    await execa('sh', ['-c', `${tool} -dc '${image}' > '${decoded}'`]);
    expect((await execa('cmp', [decoded, card])).exitCode).toBe(0);
  }, 300_000);

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

  it('says MISSING and exits 7 when a program this machine needs is not there (xz where no liblzma binding loads)', async () => {
    process.env[NO_LZMA_NATIVE_ENV] = '1';
    try {
      const r = await cli(['doctor'], await pathWithout('xz'));
      expect(r.code).toBe(7);
      expect(r.stdout).toMatch(/^xz +MISSING +\(xz compression where no liblzma binding loads\)$/m);
      expect(r.stdout).toMatch(/^xz compression: the xz program \(the same bytes\)\. Not node-liblzma: MICROCLOUD_PI_NO_LZMA_NATIVE=1 is set\. Not lzma-native: MICROCLOUD_PI_NO_LZMA_NATIVE=1 is set\.$/m);
      expect(r.stderr).toMatch(/apt-get install xz-utils/);
    } finally {
      delete process.env[NO_LZMA_NATIVE_ENV];
    }
  });

  it('says that node-liblzma compresses here, with its liblzma, so a missing xz program is no problem', async () => {
    expect(await xzCompressor()).toBe('node-liblzma'); // built against Debian's liblzma at npm ci (.ci/run installs what it needs)
    const r = await cli(['doctor'], await pathWithout('xz'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^xz +not found +\(.*; not needed here: node-liblzma compresses xz in process\)$/m);
    expect(r.stdout).toMatch(/^xz compression: node-liblzma \(liblzma 5\.\d+\.\d+ in process; the xz program is not needed\)\.$/m);
    const json = JSON.parse((await cli(['doctor', '--json'], await pathWithout('xz'))).stdout) as
      { compressors: { xz: string }; liblzma: string; xzPassedOver: unknown[] };
    expect(json).toMatchObject({ compressors: { xz: 'node-liblzma' }, xzPassedOver: [] });
    expect(json.liblzma).toMatch(/^5\.\d+\.\d+$/);
  });

  it('says why lzma-native compresses instead of node-liblzma, and how much slower it is', async () => {
    process.env[NO_NODE_LIBLZMA_ENV] = '1';
    try {
      const r = await cli(['doctor'], await pathWithout('xz'));
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^xz +not found +\(.*; not needed here: lzma-native compresses xz in process\)$/m);
      expect(r.stdout).toMatch(/^xz compression: lzma-native \(liblzma 5\.2\.3 in process, about 1\.6x the CPU time of node-liblzma or the xz program per chunk; the xz program is not needed\)\. Not node-liblzma: MICROCLOUD_PI_NO_NODE_LIBLZMA=1 is set\.$/m);
    } finally {
      delete process.env[NO_NODE_LIBLZMA_ENV];
    }
  });

  // What a binding that does not load says, as doctor gives it: one line, no paths.
  it.each([
    ['not installed', Object.assign(new Error("Cannot find package 'node-liblzma' imported from /repo/builder/image/xz-libraries.js"), { code: 'ERR_MODULE_NOT_FOUND' }),
      "not installed (npm leaves out an optional package whose install failed: see npm's log)"],
    ['a prebuild for a newer C++ library', new Error('/repo/node_modules/node-liblzma/prebuilds/linux-x64/node-liblzma.node: /lib/x86_64-linux-gnu/libstdc++.so.6: '
      + "version `GLIBCXX_3.4.31' not found (required by /repo/node_modules/node-liblzma/prebuilds/linux-x64/node-liblzma.node)"),
    "node-liblzma.node: libstdc++.so.6: version `GLIBCXX_3.4.31' not found"],
    ['no build for this platform', new Error('No native build was found for platform=linux arch=arm64 runtime=node abi=115 uv=1 libc=glibc node=20.20.2\n'
      + '    loaded from: /repo/node_modules/node-liblzma\n'), 'No native build was found for platform=linux arch=arm64 runtime=node abi=115 uv=1 libc=glibc node=20.20.2'],
  ])('says in one line why node-liblzma does not load: %s', (_, error, gist) => {
    expect(loadErrorGist('node-liblzma', error)).toBe(gist);
    expect(compressorLine({ passedOver: [{ library: 'node-liblzma', reason: `it does not load on linux-arm64: ${gist}` },
      { library: 'lzma-native', reason: 'it does not load on linux-arm64: lzma-native.node: wrong ELF class' }] }))
      .toBe(`xz compression: the xz program (the same bytes). Not node-liblzma: it does not load on linux-arm64: ${gist}. `
        + 'Not lzma-native: it does not load on linux-arm64: lzma-native.node: wrong ELF class.');
  });

  it('never suggests Homebrew for lsblk: on macOS it is not used (diskutil, Imager or Etcher are)', async () => {
    const r = await cli(['doctor'], await pathWithout('lsblk'), { platform: 'darwin' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^lsblk +not found +\(flash; not used on macOS: .*balenaEtcher, and diskutil list to see the disks\)$/m);
    expect(r.stdout + r.stderr).not.toMatch(/brew install/);
    expect(installCommands([programNamed('lsblk')]).join('\n')).not.toMatch(/brew/);
    expect(installCommands([programNamed('xz'), programNamed('lsblk')])).toContain('macOS (Homebrew):   brew install xz');
    // On Linux it is what flash asks, and missing it is said.
    const linux = await cli(['doctor'], await pathWithout('lsblk'), { platform: 'linux' });
    expect([linux.code, linux.stdout]).toEqual([7, expect.stringMatching(/^lsblk +MISSING/m)]);
    expect(linux.stderr).toMatch(/apt-get install util-linux/);
  });
});

describe('flash decodes in process', () => {
  it('refuses a truncated .img.xz with the file named and what to do, and needs no program for it', async () => {
    const dir = await tempDir('mcpi-flash-');
    const cut = join(dir, 'cut.img.xz');
    const bytes = await readFile(baseImage);
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await writeFile(join(dir, 'card.img'), '');
    // --force: no manifest.json lists it, and the decoder is what is tested here
    const r = await cli(['flash', cut, join(dir, 'card.img'), '--yes', '--force'], await tempDir('mcpi-empty-'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cut\.img\.xz: could not be decoded \(corrupt or truncated.*flash again/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
