// One output folder, rebuilt as a user does: after a change of the cluster file, with another
// compression, seed-only and image builds in turn, and with files the build did not make in it.
// What the folder holds, what SHA256SUMS and manifest.json list, and what flash takes from it.
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { run } from '../builder/cli/run.js';
import { exampleFile, TEST_PASSPHRASE } from './helpers/examples.js';
import { TEST_ISSUED_MS, TEST_OPERATOR_KEY } from './helpers/operator-key.js';
import { fakeNodeRuntime, makeRaspiImage } from './helpers/raspi-fixture.js';
import { tempDir } from './helpers/temp-dir.js';

jest.setTimeout(60_000);

let base: string;
let runtime: string;
beforeAll(async () => {
  runtime = await fakeNodeRuntime();
  base = await makeRaspiImage('out-folder-base'); // raw: nothing to unpack
});

async function workspace() {
  const dir = await tempDir('mcpi-out-');
  await cp(exampleFile('three-pis-ceph'), join(dir, 'cluster.yaml'));
  await writeFile(join(dir, 'cluster.secrets.yaml'), `session_passphrase: ${TEST_PASSPHRASE}\noperator_key: ${TEST_OPERATOR_KEY}\n`,
    { mode: 0o600 });
  const config = join(dir, 'cluster.yaml');
  const out = join(dir, 'out');
  const build = (...args: string[]) => cli(['-c', config, ...args, '--base-image', base, '--node-runtime', runtime,
    '--cache', join(dir, 'cache'), '-o', out]);
  const setTimezone = async (zone: string) =>
    writeFile(config, (await readFile(config, 'utf8')).replace(/^timezone: .*$/m, `timezone: ${zone}`));
  return { dir, config, out, build, setTimezone };
}

async function cli(argv: string[]) {
  const err: string[] = [];
  const code = await run(argv, { stdout: () => {}, stderr: (l) => err.push(l), env: { MICROCLOUD_PI_TICKET_TIME: String(TEST_ISSUED_MS) } });
  return { code, stderr: err.join('\n') };
}

const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');
const listing = async (dir: string) => (await readdir(dir)).sort();
const sums = async (out: string) => (await readFile(join(out, 'SHA256SUMS'), 'utf8')).split('\n').filter(Boolean)
  .map((line) => line.split(' *').reverse() as [string, string]);
const manifestOf = async (out: string) => JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as
  { configSha256: string; nodes: Record<string, { file: string; sha256: string }> };

describe('an output folder rebuilt after the cluster file changed', () => {
  it('holds and lists no file of the old config, keeps images of the same file, and flash refuses the old image', async () => {
    const ws = await workspace();
    await ws.setTimezone('Europe/Berlin');
    expect((await ws.build('--node', 'pi1', '--compress', 'zst')).code).toBe(0);
    const second = await ws.build('--node', 'pi2', '--compress', 'zst');
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/kept pi1\.img\.zst in .*out: made from this same .*cluster\.yaml/);
    const oldImage = join(ws.dir, 'old-pi1.img.zst');
    await cp(join(ws.out, 'pi1.img.zst'), oldImage);

    await ws.setTimezone('Asia/Tokyo');
    const rebuilt = await ws.build('--node', 'pi1');
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.stderr).toMatch(/removed .*out\/pi1\.img\.zst: made from another version of .*cluster\.yaml/);
    expect(rebuilt.stderr).toMatch(/removed .*out\/pi2\.img\.zst: made from another version of .*cluster\.yaml/);
    expect(await listing(ws.out)).toEqual(['SHA256SUMS', 'manifest.json', 'pi1.img']);
    expect(await sums(ws.out)).toEqual([['pi1.img', await sha256(join(ws.out, 'pi1.img'))]]);
    const manifest = await manifestOf(ws.out);
    expect(manifest.configSha256).toBe(await sha256(ws.config));
    expect(Object.values(manifest.nodes).map((n) => [n.file, n.sha256])).toEqual([['pi1.img', await sha256(join(ws.out, 'pi1.img'))]]);

    // The old image put back beside the new build's manifest: not listed there, so not flashed.
    await cp(oldImage, join(ws.out, 'pi1.img.zst'));
    const card = join(ws.dir, 'card.img');
    await writeFile(card, '');
    const flashed = await cli(['flash', join(ws.out, 'pi1.img.zst'), card, '--yes']);
    expect(flashed.code).toBe(2);
    expect(flashed.stderr).toMatch(/manifest\.json does not list pi1\.img\.zst/);
    expect((await readFile(card)).length).toBe(0);
  });
});

describe('seed-only and image builds in one folder', () => {
  it('an image build removes the seed folders and says so; a seed build removes the images and their lists', async () => {
    const ws = await workspace();
    expect((await ws.build('--all', '--seed-only')).code).toBe(0);
    const images = await ws.build('--node', 'pi1');
    expect(images.code).toBe(0);
    expect(images.stderr).toMatch(/removed .*out\/pi2\/: a --seed-only folder, and this build writes images/);
    expect(await listing(ws.out)).toEqual(['SHA256SUMS', 'manifest.json', 'pi1.img']);

    const seeds = await ws.build('--node', 'pi2', '--seed-only');
    expect(seeds.code).toBe(0);
    expect(seeds.stderr).toMatch(/removed .*out\/pi1\.img: an image, and this is a --seed-only build/);
    expect(await listing(ws.out)).toEqual(['pi2']);
  });

  it('a seed build after a change of the cluster file leaves no seed folder of the old one', async () => {
    const ws = await workspace();
    expect((await ws.build('--all', '--seed-only')).code).toBe(0);
    await ws.setTimezone('Asia/Tokyo');
    const r = await ws.build('--node', 'pi1', '--seed-only');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/removed .*out\/pi3\/: made from another version of .*cluster\.yaml/);
    expect(await listing(ws.out)).toEqual(['pi1']);
    const build = JSON.parse(await readFile(join(ws.out, 'pi1', 'microcloud-pi', 'build.json'), 'utf8'));
    expect(build.configSha256).toBe(await sha256(ws.config));
  });
});

describe('files the build did not make', () => {
  it('stop the build before it writes anything, named, with exit 2, and are never touched', async () => {
    const ws = await workspace();
    expect((await ws.build('--node', 'pi1')).code).toBe(0);
    await writeFile(join(ws.out, 'pi9.img'), 'mine');
    await mkdir(join(ws.out, 'pi2'));
    await writeFile(join(ws.out, 'pi2', 'user-data'), '#cloud-config\n');
    const contents = async () => Promise.all((await listing(ws.out)).map(async (name) => [name, await sha256(join(ws.out, name)).catch(() => 'a folder')]));
    const before = await contents();

    const r = await ws.build('--node', 'pi2');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/out holds files this build did not make/);
    expect(r.stderr).toMatch(/pi9\.img: not listed in manifest\.json/);
    expect(r.stderr).toMatch(/pi2\/: not a seed folder this tool wrote/);
    expect(r.stderr).toMatch(/Nothing was written\. Move them out of the folder, or give another --out\./);
    expect(r.stderr).not.toMatch(/unexpected|\n\s+at /);
    expect(await contents()).toEqual(before);
    expect(await readFile(join(ws.out, 'pi2', 'user-data'), 'utf8')).toBe('#cloud-config\n');
  });
});
