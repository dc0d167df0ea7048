// The image build and --seed-only as a user on macOS or Windows runs them: a fixture made in
// process (test/helpers/portable-fixture.ts), no system program anywhere, files read back with
// our own FAT reader. The GitHub workflow runs this on Linux, macOS and Windows; on Linux the
// other tests check the same with fsck.fat and mtools as oracles.
import { createHash } from 'node:crypto';
import { cp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { run } from '../builder/cli/run.js';
import { FatVolume } from '../builder/image/fat/volume.js';
import { readImageLayout } from '../builder/image/base/layout.js';
import { exampleFile, TEST_PASSPHRASE } from './helpers/examples.js';
import { TEST_ISSUED_MS, TEST_OPERATOR_KEY } from './helpers/operator-key.js';
import { makePortableRaspiImage } from './helpers/portable-fixture.js';
import { tempDir } from './helpers/temp-dir.js';
import { jest } from '@jest/globals';

jest.setTimeout(120_000);

let work: string;
let base: string;
let rootSha256: string;
let runtime: string;

beforeAll(async () => {
  work = await tempDir('mcpi-portable-');
  base = join(work, 'base.img');
  rootSha256 = await makePortableRaspiImage(base);
  runtime = join(work, 'node');
  await writeFile(runtime, 'TEST DOUBLE of the node runtime\n');
  await cp(exampleFile('three-pis-ceph'), join(work, 'cluster.yaml'));
  await writeFile(join(work, 'cluster.secrets.yaml'), `session_passphrase: ${TEST_PASSPHRASE}\noperator_key: ${TEST_OPERATOR_KEY}\n`,
    { mode: 0o600 });
});

// Each card's join ticket is issued at the build's moment unless this fixes it.
const TICKET_TIME = { MICROCLOUD_PI_TICKET_TIME: String(TEST_ISSUED_MS) };

async function cli(args: readonly string[]) {
  const err: string[] = [];
  const code = await run(['-c', join(work, 'cluster.yaml'), '--node-runtime', runtime, ...args], { stdout: () => {}, stderr: (l) => err.push(l), env: TICKET_TIME });
  return { code, stderr: err.join('\n') };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Every file on an image's FAT, by `/`-separated path, with its SHA-256. */
async function fatFiles(image: string): Promise<Record<string, string>> {
  const { boot } = await readImageLayout(image);
  const volume = await FatVolume.open(image, boot.offset);
  const files: Record<string, string> = {};
  try {
    const walk = async (folder: string) => {
      for (const entry of (await volume.list(folder))!) {
        const path = folder ? `${folder}/${entry.name}` : entry.name;
        if (entry.folder) await walk(path);
        else files[path] = sha256((await volume.readFile(path))!);
      }
    };
    await walk('');
  } finally {
    await volume.close();
  }
  return files;
}

async function folderFiles(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? entry.path, entry.name);
    files[relative(dir, path).split(sep).join('/')] = sha256(await readFile(path));
  }
  return files;
}

describe('build-image on any OS, Node alone', () => {
  it('writes an image whose system-boot is the base\'s files plus the --seed-only folder, and nothing else changes', async () => {
    const a = await cli(['--node', 'pi1', '--base-image', base, '--cache', join(work, 'cache-a'), '-o', join(work, 'a')]);
    expect([a.code, a.stderr]).toEqual([0, expect.stringContaining('pi1')]);
    const b = await cli(['--node', 'pi1', '--base-image', base, '--cache', join(work, 'cache-b'), '-o', join(work, 'b')]);
    expect(b.code).toBe(0);
    const seeds = await cli(['--node', 'pi1', '--seed-only', '--cache', join(work, 'cache-a'), '-o', join(work, 'seeds')]);
    expect(seeds.code).toBe(0);

    const image = join(work, 'a', 'pi1.img');
    expect(sha256(await readFile(image))).toBe(sha256(await readFile(join(work, 'b', 'pi1.img')))); // any cache folder, same bytes
    const layout = await readImageLayout(image);
    const bytes = await readFile(image);
    expect(sha256(bytes.subarray(layout.root.offset, layout.root.offset + layout.root.bytes))).toBe(rootSha256);
    expect((await stat(image)).size).toBe((await stat(base)).size);
    expect(await fatFiles(image)).toEqual({ ...await fatFiles(base), ...await folderFiles(join(work, 'seeds', 'pi1')) });
  });
});
