// A node's image is a copy of the base: a clone where the filesystem makes them, else the base's
// data extents with holes kept. Both give the same bytes and the hash the manifest records; the
// clone path is driven here by a TEST DOUBLE cloner (a plain full copy: what a clone holds),
// since this machine's ext4 has no clones.
import { randomBytes } from 'node:crypto';
import { copyFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buildNodeImage, type Cloner } from '../builder/image/write/build-node-image.js';
import { sha256File } from '../builder/image/hash-file.js';
import { prepareBase } from '../builder/image/base/prepare-base.js';
import { readImageLayout } from '../builder/image/base/layout.js';
import { renderSeed } from '../builder/render/seed.js';
import { asSecret } from '../builder/config/types.js';
import { loadExample, TEST_PASSPHRASE } from './helpers/examples.js';
import { makeRaspiImage, tool } from './helpers/raspi-fixture.js';
import { tempDir } from './helpers/temp-dir.js';

const cloneDouble: Cloner = async (from, to) => { await copyFile(from, to); return true; };
const noClone: Cloner = async () => false;

describe('a node image copied from the base', () => {
  it('is the same, byte for byte, by a sparse copy and by a clone; the copy keeps the holes', async () => {
    const dir = await tempDir('mcpi-copy-');
    const base = await makeRaspiImage('copy-base');
    const payload = randomBytes(300_000).toString('base64');
    const prepared = await prepareBase({ rawBase: base, bootPath: join(dir, 'boot.partial'),
      folder: [{ name: 'microcloud-pi/payload.txt', content: payload, sha256: '' }] });
    const seed = renderSeed(loadExample('three-pis-ceph'), 'pi1', asSecret(TEST_PASSPHRASE));
    const images = [];
    for (const [name, clone] of [['copy', noClone], ['clone', cloneDouble]] as const)
      images.push(await buildNodeImage({ base: prepared, node: 'pi1', seed, out: join(dir, `${name}.img`), clone }));
    const [copy, clone] = images as [typeof images[0], typeof images[0]];
    expect(copy.sha256).toBe(await sha256File(copy.path));
    expect(clone.sha256).toBe(copy.sha256);
    expect(await sha256File(clone.path)).toBe(copy.sha256);
    expect(copy.bytes).toBe((await stat(base)).size);
    // The base's data and the folder, not its zeros, take room on disk.
    const used = async (path: string) => (await stat(path)).blocks * 512;
    expect(await used(copy.path)).toBeLessThan(await used(base) + 2 * 1024 * 1024);
    expect(await used(copy.path)).toBeLessThan(copy.bytes / 2);
    expect((await stat(copy.path)).mode & 0o777).toBe(0o600);
    expect((await stat(clone.path)).mode & 0o777).toBe(0o600); // a clone starts with the base's mode
    // The FAT reads back with the seed and the folder (mtools, the oracle).
    const { boot } = await readImageLayout(copy.path);
    const read = await tool('mtype', ['-i', `${copy.path}@@${boot.offset}`, '::microcloud-pi/payload.txt']);
    expect(read.stdout).toBe(payload);
    const userData = await tool('mtype', ['-i', `${clone.path}@@${boot.offset}`, '::user-data']);
    expect(userData.stdout).toBe(seed['user-data'].replace(/\n$/, ''));
  });
});
