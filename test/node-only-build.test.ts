// The build on a machine with Node and nothing else: build-image runs in a mount namespace whose
// /usr/bin holds only node and whose sbin and /usr/local folders are empty, with an empty cache
// (the runtime comes from a TEST DOUBLE of the npm registry), from the package as installed
// (dist/, templates/, images/), once from the base as .img.xz and once as .img, and once
// compressed to .img.xz (node-liblzma in process). Then, outside, with the oracles: `writable` is the base's byte for
// byte, fsck.fat is clean, the FAT's files are the base's plus the --seed-only folder, and two
// builds with different cache folders give the same bytes, and the .img.xz decodes to them. Needs root (unshare -m), as CI has.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { readImageLayout } from '../builder/image/base/layout.js';
import { exampleFile, REPO, TEST_PASSPHRASE } from './helpers/examples.js';
import { TEST_ISSUED_MS, TEST_OPERATOR_KEY } from './helpers/operator-key.js';
import { integrityOf, packageTarball, startRegistryDouble, type RegistryDouble } from './helpers/npm-registry-double.js';
import { makeRaspiImage, tool } from './helpers/raspi-fixture.js';
import { tempDir } from './helpers/temp-dir.js';
import { jest } from '@jest/globals';

jest.setTimeout(180_000);

let work: string;
let pkg: string;
let nodeOnly: string;
let base: string;
let registry: RegistryDouble;

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('this test hides system programs with unshare -m: run it as root (CI does)');
  work = await tempDir('mcpi-nodeonly-');
  base = await makeRaspiImage('nodeonly-base');
  await tool('xz', ['-0', '-k', base]); // base.img.xz beside it: the form Ubuntu publishes
  // The package as npm installs it, with the arm64 runtime pinned to the registry double's tarball.
  const runtimeTgz = await packageTarball({ 'package/package.json': '{}', 'package/bin/node': '#!/bin/sh\necho "runtime double"\n' });
  const pins = JSON.parse(await readFile(join(REPO, 'images', 'node-runtime.json'), 'utf8'));
  registry = await startRegistryDouble({ [`${pins.arm64.package}@${pins.arm64.version}`]: runtimeTgz });
  pkg = join(work, 'package');
  for (const part of ['package.json', 'dist', 'templates', 'images']) await cp(join(REPO, part), join(pkg, part), { recursive: true });
  await symlink(join(REPO, 'node_modules'), join(pkg, 'node_modules'));
  await writeFile(join(pkg, 'images', 'node-runtime.json'), JSON.stringify({ ...pins, arm64: { ...pins.arm64, integrity: integrityOf(runtimeTgz) } }));
  nodeOnly = join(work, 'bin');
  await mkdir(nodeOnly);
  await copyFile(process.execPath, join(nodeOnly, 'node'));
  await execa('chmod', ['755', join(nodeOnly, 'node')]);
  await cp(exampleFile('three-pis-ceph'), join(work, 'cluster.yaml'));
  await writeFile(join(work, 'cluster.secrets.yaml'), `session_passphrase: ${TEST_PASSPHRASE}\noperator_key: ${TEST_OPERATOR_KEY}\n`,
    { mode: 0o600 });
});

afterAll(async () => { await registry?.close(); });

/** build-image with only node on the system: /usr/bin is a folder holding node, sbin and /usr/local are empty. */
async function buildWithNodeOnly(args: readonly string[]) {
  const hide = ['/usr/sbin', '/usr/local/bin', '/usr/local/sbin'].map((d) => `mount -t tmpfs none ${d}`).join(' && ');
  const quoted = args.map((a) => `'${a}'`).join(' ');
  return execa('unshare', ['-m', 'sh', '-c', `${hide} && mount --bind '${nodeOnly}' /usr/bin && `
    + `exec /usr/bin/node '${join(pkg, 'dist', 'builder', 'cli', 'main.js')}' ${quoted}`], {
    reject: false, extendEnv: false, env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', HOME: work, npm_config_registry: registry.url,
      // Join tickets are issued at the build's moment unless this fixes it: the builds are compared byte for byte.
      MICROCLOUD_PI_TICKET_TIME: String(TEST_ISSUED_MS) },
  });
}

async function partitionSha256(image: string, place: { offset: number; bytes: number }): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(image, { start: place.offset, end: place.offset + place.bytes - 1 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every file on the image's FAT with its SHA-256 (mtools, outside the namespace). */
async function fatFiles(image: string): Promise<Map<string, string>> {
  const { boot } = await readImageLayout(image);
  const dir = join(await tempDir('mcpi-nodeonly-fat-'), 'fat');
  await mkdir(dir);
  await tool('mcopy', ['-s', '-n', '-i', `${image}@@${boot.offset}`, '::*', dir]);
  const { stdout } = await tool('find', [dir, '-type', 'f']);
  const files = new Map<string, string>();
  for (const path of stdout.split('\n').filter(Boolean).sort())
    files.set(path.slice(dir.length + 1), createHash('sha256').update(await readFile(path)).digest('hex'));
  return files;
}

describe('build-image with Node and nothing else', () => {
  it('writes an image that differs from the base only by the seed-only folder, the same from .img.xz and .img, with any cache folder', async () => {
    const runs = [];
    for (const [name, from] of [['a', `${base}.xz`], ['b', base]] as const) {
      const r = await buildWithNodeOnly(['-c', join(work, 'cluster.yaml'), '--node', 'pi1', '--base-image', from,
        '--cache', join(work, `cache-${name}`), '-o', join(work, `out-${name}`)]);
      expect([r.exitCode, r.stderr]).toEqual([0, expect.stringContaining('pi1')]);
      runs.push(join(work, `out-${name}`, 'pi1.img'));
    }
    expect(registry.requests.filter((r) => r.endsWith('.tgz'))).toHaveLength(2); // each empty cache fetched the runtime
    const seeds = await buildWithNodeOnly(['-c', join(work, 'cluster.yaml'), '--node', 'pi1', '--seed-only',
      '--cache', join(work, 'cache-a'), '-o', join(work, 'seeds')]);
    expect(seeds.exitCode).toBe(0);
    // And compressed, in process: no xz program in the namespace.
    const xz = await buildWithNodeOnly(['-c', join(work, 'cluster.yaml'), '--node', 'pi1', '--base-image', base,
      '--compress', 'xz', '--cache', join(work, 'cache-c'), '-o', join(work, 'out-c')]);
    expect([xz.exitCode, xz.stderr]).toEqual([0, expect.stringContaining('pi1.img.xz')]);
    const decoded = await execa('sh', ['-c', `xz -dc '${join(work, 'out-c', 'pi1.img.xz')}' | sha256sum`]);
    expect(decoded.stdout.slice(0, 64)).toBe(await partitionSha256(runs[0]!, { offset: 0, bytes: (await readImageLayout(runs[0]!)).size }));

    const [a, b] = runs as [string, string];
    expect(await partitionSha256(a, { offset: 0, bytes: (await readImageLayout(a)).size }))
      .toBe(await partitionSha256(b, { offset: 0, bytes: (await readImageLayout(b)).size }));
    const layout = await readImageLayout(a);
    expect(await partitionSha256(a, layout.root)).toBe(await partitionSha256(base, (await readImageLayout(base)).root));
    const fat = join(work, 'p1.fat');
    await tool('dd', [`if=${a}`, `of=${fat}`, 'bs=1M', 'iflag=skip_bytes,count_bytes', `skip=${layout.boot.offset}`, `count=${layout.boot.bytes}`, 'status=none']);
    expect((await tool('fsck.fat', ['-n', fat])).exitCode).toBe(0);

    const baseFiles = await fatFiles(base);
    const imageFiles = await fatFiles(a);
    const seedDir = join(work, 'seeds', 'pi1');
    const { stdout } = await tool('find', [seedDir, '-type', 'f']);
    const expected = new Map(baseFiles);
    for (const path of stdout.split('\n').filter(Boolean))
      expected.set(path.slice(seedDir.length + 1), createHash('sha256').update(await readFile(path)).digest('hex'));
    expect(Object.fromEntries(imageFiles)).toEqual(Object.fromEntries(expected));
  });
});
