// The release script on a fixture base: folder contents, every checksum true, Imager entries
// that match the files, secrets only from the environment and never in the metadata or output.
import { tempDir } from './helpers/temp-dir.js';
import { createHash } from 'node:crypto';
import { cp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { execa } from 'execa';
import { release } from '../ci/release.js';
import { load } from 'js-yaml';
import { NODE_CONFIG_PATH, type NodeConfig } from '../builder/render/node-config.js';
import { operatorPublicKey, readTicket } from '../firstboot/join/join-ticket.js';
import { exampleFile } from './helpers/examples.js';
import { TEST_OPERATOR_KEY } from './helpers/operator-key.js';
import { fakeNodeRuntime, makeRaspiImage, tool } from './helpers/raspi-fixture.js';

jest.setTimeout(180_000);

const PASSPHRASE = 'release-secret-passphrase-4f9a2c';
const CI_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICiKeyFromTheEnvironmentOnlyAAAAAAAAAAAAAAA ci@release';
const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

describe('npm run release', () => {
  it('builds every node into one verified folder with an Imager repository', async () => {
    const dir = await tempDir('mcpi-release-');
    await cp(exampleFile('three-pis-ceph'), join(dir, 'cluster.yaml'));
    const base = await makeRaspiImage('release-base');
    const out = join(dir, 'release');
    const lines: string[] = [];
    const code = await release(['--config', join(dir, 'cluster.yaml'), '--out', out, '--base-image', base,
      '--cache', join(dir, 'cache'), '--url-base', 'https://example.invalid/v1/', '--release-date', '2026-11-22'],
    { MICROCLOUD_PI_PASSPHRASE: PASSPHRASE, MICROCLOUD_PI_OPERATOR_KEY: TEST_OPERATOR_KEY, MICROCLOUD_PI_SSH_KEYS: `${CI_KEY}\n` },
    { stdout: (t) => lines.push(t), stderr: (l) => lines.push(l) }, ['--node-runtime', await fakeNodeRuntime()]);
    if (code !== 0) throw new Error(lines.join('\n'));

    expect((await readdir(out)).sort()).toEqual(['SHA256SUMS', 'imager.json', 'manifest.json', 'pi1.img.xz', 'pi2.img.xz', 'pi3.img.xz']);
    const sums = (await readFile(join(out, 'SHA256SUMS'), 'utf8')).trim().split('\n');
    expect(sums).toHaveLength(3);
    expect((await execa('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out })).stdout).toMatch(/pi1\.img\.xz: OK\n.*pi2.*OK\n.*pi3.*OK/s);

    const imager = JSON.parse(await readFile(join(out, 'imager.json'), 'utf8'));
    expect(imager.os_list.map((e: { name: string }) => e.name)).toEqual(['shelf: pi1', 'shelf: pi2', 'shelf: pi3']);
    for (const entry of imager.os_list) {
      const file = join(out, entry.url.replace('https://example.invalid/v1/', ''));
      expect(entry).toMatchObject({ init_format: 'none', release_date: '2026-11-22', devices: expect.arrayContaining(['pi4-64bit']) });
      expect(entry.image_download_sha256).toBe(await sha256(file));
      expect(entry.image_download_size).toBe((await readFile(file)).length);
      const raw = join(dir, 'raw.img');
      await tool('bash', ['-c', `xz -dc '${file}' > '${raw}'`]);
      expect(entry.extract_sha256).toBe(await sha256(raw));
      expect(entry.extract_size).toBe((await readFile(raw)).length);
    }

    // The key from the environment is the one on the card.
    const raw = join(dir, 'raw.img');
    await tool('bash', ['-c', `xz -dc '${join(out, 'pi2.img.xz')}' > '${raw}'`]);
    const userData = await tool('mcopy', ['-n', '-i', `${raw}@@1048576`, '::/user-data', '-']);
    expect(userData.stdout).toContain(CI_KEY);
    // And each card carries its node's join ticket, signed with the operator key from the environment.
    const files = (load(userData.stdout) as { write_files: { path: string; content: string }[] }).write_files;
    const node = JSON.parse(files.find((f) => f.path === NODE_CONFIG_PATH)!.content) as NodeConfig;
    expect(node.join.operatorKey).toBe(operatorPublicKey(TEST_OPERATOR_KEY));
    expect(readTicket(node.join.operatorKey!, node.join.ticket!)).toMatchObject({ ok: true, ticket: { node: 'pi2', address: '10.20.0.12' } });

    // The passphrase and the operator key are in no metadata file, not in the output, and nothing was written beside the cluster file.
    for (const name of ['SHA256SUMS', 'imager.json', 'manifest.json']) {
      expect(await readFile(join(out, name), 'utf8')).not.toContain(PASSPHRASE);
      expect(await readFile(join(out, name), 'utf8')).not.toContain(TEST_OPERATOR_KEY);
    }
    expect(lines.join('\n')).not.toContain(PASSPHRASE);
    expect(lines.join('\n')).not.toContain(TEST_OPERATOR_KEY);
    expect(lines.join('\n')).not.toMatch(/carry no join ticket/);
    expect(await readdir(dir)).not.toContain('cluster.secrets.yaml');
    // Published with grow on (the example's default): the release says what holding an image allows.
    expect(lines.join('\n')).toMatch(/warning: these images are to be published, and microcloud\.grow is on: anyone holding one can add a machine/);
  });

  it.each([['unset', {}], ['empty, as a workflow gives a secret nobody set', { MICROCLOUD_PI_OPERATOR_KEY: '' }]])(
    'warns, before it builds, that release cards carry no join ticket when MICROCLOUD_PI_OPERATOR_KEY is %s', async (_how, key) => {
      const dir = await tempDir('mcpi-release-nokey-');
      await cp(exampleFile('three-pis-ceph'), join(dir, 'cluster.yaml'));
      const lines: string[] = [];
      // A base that is not there: the build stops at it (exit 2, a path that cannot be used), after the warnings.
      const code = await release(['--config', join(dir, 'cluster.yaml'), '--out', join(dir, 'release'), '--base-image', join(dir, 'none.img'),
        '--cache', join(dir, 'cache')], { MICROCLOUD_PI_PASSPHRASE: PASSPHRASE, ...key },
      { stdout: () => {}, stderr: (l) => lines.push(l) }, ['--node-runtime', await fakeNodeRuntime()]);
      expect(lines[0]).toMatch(/^release: warning: MICROCLOUD_PI_OPERATOR_KEY is not set: these release cards carry no join ticket, /);
      expect(lines.join('\n')).not.toMatch(/is not an Ed25519 private key/);
      expect([code, lines.join('\n')]).toEqual([2, expect.stringMatching(/none\.img/)]);
    });

  it('refuses to run without the passphrase in the environment', async () => {
    const lines: string[] = [];
    const code = await release(['--config', exampleFile('three-pis-ceph'), '--out', '/tmp/never'], {},
      { stdout: () => {}, stderr: (l) => lines.push(l) });
    expect(code).toBe(2);
    expect(lines.join()).toMatch(/set MICROCLOUD_PI_PASSPHRASE/);
  });
});
