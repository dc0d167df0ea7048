// A build given a path it cannot use, or a base it refuses, says which option and what to do,
// and leaves nothing of its own behind: no secrets file, no empty output folder.
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../builder/cli/run.js';
import { lookAtOutFolder, undoUnpublishedRun } from '../builder/cli/commands/undo-refused.js';
import { exampleFile } from './helpers/examples.js';
import { fakeNodeRuntime } from './helpers/raspi-fixture.js';
import { ReleaseServer } from './helpers/release-server.js';
import { tempDir } from './helpers/temp-dir.js';

let runtime: string;
beforeAll(async () => {
  runtime = await fakeNodeRuntime();
});

async function workspace() {
  const dir = await tempDir('mcpi-refused-');
  await cp(exampleFile('three-pis-ceph'), join(dir, 'cluster.yaml'));
  return { dir, config: join(dir, 'cluster.yaml'), cache: join(await tempDir('mcpi-refused-cache-'), 'cache') };
}

async function cli(ws: { config: string; cache: string }, argv: string[]) {
  const err: string[] = [];
  const code = await run(['-c', ws.config, '--node', 'pi1', '--cache', ws.cache, ...(argv.includes('--node-runtime') ? [] : ['--node-runtime', runtime]), ...argv],
    { stdout: () => {}, stderr: (l) => err.push(l), env: {} });
  return { code, stderr: err.join('\n') };
}

describe('a path that cannot be used', () => {
  it.each([
    ['--out naming a file', async (dir: string) => { await writeFile(join(dir, 'shelf.img'), 'x'); return ['--seed-only', '--out', join(dir, 'shelf.img')]; },
      /--out \S+shelf\.img is a file, not a folder\. Give a folder to write into \(it is created when missing\), or move the file away\./],
    ['--out under a file', async (dir: string) => { await writeFile(join(dir, 'notes'), 'x'); return ['--out', join(dir, 'notes', 'out'), '--base-image', exampleFile('single-node')]; },
      /--out \S+notes\/out cannot be made: \S+notes is a file, not a folder/],
    ['--base-image naming a folder', async (dir: string) => {
      await mkdir(join(dir, 'downloads'));
      await writeFile(join(dir, 'downloads', 'ubuntu-24.04.2-preinstalled-server-arm64+raspi.img.xz'), 'x');
      return ['--base-image', join(dir, 'downloads'), '-o', join(dir, 'out')];
    }, /--base-image \S+downloads is a folder, not a file\. Give the path of an Ubuntu Server raspi image \(\.img or \.img\.xz\): in that folder, --base-image \S+downloads\/ubuntu-24\.04\.2-preinstalled-server-arm64\+raspi\.img\.xz\./],
    ['--base-image naming nothing', async (dir: string) => ['--base-image', join(dir, 'nope.img'), '-o', join(dir, 'out')],
      /--base-image \S+nope\.img does not exist\. .*or leave --base-image out to download one\./],
    ['--node-runtime naming a folder', async (dir: string) => ['--seed-only', '--node-runtime', dir, '-o', join(dir, 'out')],
      /--node-runtime \S+ is a folder, not a file\. Give the path of a node binary/],
  ])('%s: exit 2 with the option, the path and what to do; nothing written', async (_name, setUp, message) => {
    const ws = await workspace();
    const argv = await setUp(ws.dir);
    const before = (await readdir(ws.dir)).sort();
    const r = await cli(ws, argv);
    expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(message)]);
    expect(r.stderr).not.toMatch(/unexpected failure|EEXIST|EISDIR/);
    expect((await readdir(ws.dir)).sort()).toEqual(before); // no secrets file, no output folder
  });
});

describe('a refused base', () => {
  it('in a new output folder leaves neither the secrets file nor the folder behind, exit 6', async () => {
    const ws = await workspace();
    const notAnImage = join(ws.dir, 'not-a-pi.img');
    await writeFile(notAnImage, 'garbage');
    const r = await cli(ws, ['--base-image', notAnImage, '-o', join(ws.dir, 'out', 'shelf')]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/not-a-pi\.img: the image is smaller than one sector/);
    expect(r.stderr).toMatch(/Removed \S+cluster\.secrets\.yaml and \S+out\/shelf and \S+\/out again: this run wrote no card\./);
    expect((await readdir(ws.dir)).sort()).toEqual(['cluster.yaml', 'not-a-pi.img']);
  });

  it('keeps a secrets file and an output folder that were there before', async () => {
    const ws = await workspace();
    const out = join(ws.dir, 'out');
    await mkdir(out);
    await writeFile(join(out, 'README'), 'mine');
    const secrets = join(ws.dir, 'cluster.secrets.yaml');
    await writeFile(secrets, 'session_passphrase: kept-from-an-earlier-build-0123\n', { mode: 0o600 });
    const notAnImage = join(ws.dir, 'not-a-pi.img');
    await writeFile(notAnImage, 'garbage');
    const r = await cli(ws, ['--base-image', notAnImage, '-o', out]);
    expect(r.code).toBe(6);
    expect(await readFile(secrets, 'utf8')).toMatch(/^session_passphrase: kept-from-an-earlier-build-0123\n/);
    expect(await readdir(out)).toEqual(['README']);
  });

  it('once a card is written, keeps everything (its passphrase is in the secrets file)', async () => {
    const ws = await workspace();
    const out = join(ws.dir, 'new-out');
    const before = await lookAtOutFolder(out);
    const secrets = { file: join(ws.dir, 'cluster.secrets.yaml'), text: 'session_passphrase: a-card-carries-this-0123\n' };
    await writeFile(secrets.file, secrets.text, { mode: 0o600 });
    await mkdir(out);
    await writeFile(join(out, 'pi1.img'), 'a card');
    expect(await undoUnpublishedRun({ outDir: out, outBefore: before, createdSecrets: secrets })).toEqual([]);
    expect(await readFile(secrets.file, 'utf8')).toBe(secrets.text);
    // Without the card, the same run leaves nothing.
    await rm(join(out, 'pi1.img'));
    expect(await undoUnpublishedRun({ outDir: out, outBefore: before, createdSecrets: secrets })).toEqual([secrets.file, out]);
  });
});

describe('a base that cannot be downloaded', () => {
  it('says --base-image is the way for an offline site, exit 4, and leaves no secrets file', async () => {
    const server = new ReleaseServer(new Map()); // answers 404 to everything: no retries
    const address = await server.start();
    try {
      const ws = await workspace();
      const catalog = join(ws.dir, 'catalog.json');
      await writeFile(catalog, JSON.stringify({ images: [{
        id: 'test-raspi', name: 'fixture', architecture: 'arm64', directory: `${address}/release/`,
        filePattern: '^ubuntu-24\\.04(\\.\\d+)?-preinstalled-server-arm64\\+raspi\\.img\\.xz$',
        checksums: 'SHA256SUMS', signature: 'SHA256SUMS.gpg', signingKey: 'unused.gpg', labels: { boot: 'system-boot', root: 'writable' }, test: true,
      }] }));
      const r = await cli(ws, ['--image', 'test-raspi', '--catalog', catalog, '-o', join(ws.dir, 'out')]);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/Could not download http:\/\/127\.0\.0\.1:\d+\/release\/SHA256SUMS(\.gpg)?: HTTP 404/);
      expect(r.stderr).toMatch(/On a site without Internet access, fetch the image elsewhere \(http:\/\/127\.0\.0\.1:\d+\/release\/ubuntu-24\.04\*-preinstalled-server-arm64\+raspi\.img\.xz, checked against its SHA256SUMS\) and build from it with --base-image FILE --image test-raspi\./);
      expect((await readdir(ws.dir)).sort()).toEqual(['catalog.json', 'cluster.yaml']);
    } finally {
      await server.stop();
    }
  });
});
