// The install script user-data runs from the boot partition, run here against a scratch root
// (MCPI_ROOT) with systemctl as a TEST DOUBLE that records its calls: a good folder installs and
// starts the service and frees the archive; a damaged one installs nothing and says so; a rerun
// after a power cut converges.
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { planBootFolder, BUNDLE_PATH, RUNTIME_PATH, UNIT_NAME, UNIT_PATH } from '../builder/image/fat/boot-folder.js';
import { BOOT_FOLDER, INSTALL_COMMAND } from '../builder/render/install-command.js';
import { sha256Hex } from '../builder/image/hash-file.js';
import { loadExample } from './helpers/examples.js';
import { tempDir } from './helpers/temp-dir.js';

const RUNTIME = '#!/bin/sh\necho "runtime double"\n';

/** A boot partition (a folder here) with the planned microcloud-pi folder, a root, and a systemctl double. */
async function card() {
  const dir = await tempDir('mcpi-install-');
  const fat = join(dir, 'boot', 'firmware');
  const root = join(dir, 'root');
  const bin = join(dir, 'bin');
  await mkdir(join(fat, BOOT_FOLDER), { recursive: true });
  await mkdir(root);
  await mkdir(bin);
  const archive = join(dir, 'node.gz');
  await writeFile(archive, gzipSync(RUNTIME));
  const bundle = join(dir, 'firstboot.mjs');
  await writeFile(bundle, 'console.log("bundle")\n');
  const folder = planBootFolder(loadExample('three-pis-ceph'), { tool: 'microcloud-pi', version: 't', configSha256: 'c' }, {
    bundle: { path: bundle, sha256: sha256Hex(await readFile(bundle)) },
    runtimeArchive: { path: archive, sha256: sha256Hex(await readFile(archive)) },
  });
  for (const f of folder) await writeFile(join(fat, f.name), f.source !== undefined ? await readFile(f.source) : f.content);
  const calls = join(dir, 'systemctl.calls');
  await writeFile(join(bin, 'systemctl'), `#!/bin/sh\necho "$*" >> '${calls}'\n`);
  await chmod(join(bin, 'systemctl'), 0o755);
  const install = () => execa('sh', [join(fat, BOOT_FOLDER, 'install.sh')], {
    reject: false, env: { MCPI_ROOT: root, PATH: `${bin}:${process.env.PATH}` },
  });
  const systemctl = async () => (await readFile(calls, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
  return { fat, root, install, systemctl, folderFile: (name: string) => join(fat, BOOT_FOLDER, name) };
}

const exists = (path: string) => stat(path).then(() => true, () => false);

describe('the first-boot install script on the boot partition', () => {
  it('checks, installs the runtime, bundle and unit, enables and starts the service without blocking, and frees the archive', async () => {
    const c = await card();
    const r = await c.install();
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/microcloud-pi: first-boot service installed and started \(\d+ s\)/);
    expect(await readFile(join(c.root, RUNTIME_PATH), 'utf8')).toBe(RUNTIME);
    expect((await stat(join(c.root, RUNTIME_PATH))).mode & 0o777).toBe(0o755);
    expect(await readFile(join(c.root, BUNDLE_PATH), 'utf8')).toBe('console.log("bundle")\n');
    expect(await readFile(join(c.root, UNIT_PATH), 'utf8')).toContain(`ExecStart=${RUNTIME_PATH} ${BUNDLE_PATH}`);
    expect(JSON.parse(await readFile(join(c.root, '/etc/microcloud-pi/build.json'), 'utf8'))).toMatchObject({ cluster: 'shelf' });
    expect(await c.systemctl()).toEqual(['daemon-reload', `enable ${UNIT_NAME}`, `start --no-block ${UNIT_NAME}`]);
    expect(await exists(c.folderFile('node.gz'))).toBe(false);
  });

  it('refuses a damaged archive: says so, installs nothing, starts nothing', async () => {
    const c = await card();
    const archive = await readFile(c.folderFile('node.gz'));
    archive[archive.length >> 1]! ^= 0x40;
    await writeFile(c.folderFile('node.gz'), archive);
    const r = await c.install();
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/node\.gz: FAILED/);
    expect(r.stderr).toMatch(/damaged .*the first-boot service was NOT installed and this node will not join\. Write the card again/);
    expect(await exists(join(c.root, RUNTIME_PATH))).toBe(false);
    expect(await exists(join(c.root, UNIT_PATH))).toBe(false);
    expect(await c.systemctl()).toEqual([]);
  });

  it('converges when run again after a power cut, with or without the archive', async () => {
    const c = await card();
    await c.install(); // installed; the archive is gone
    const again = await c.install();
    expect(again.exitCode).toBe(0);
    expect(await readFile(join(c.root, RUNTIME_PATH), 'utf8')).toBe(RUNTIME);
    expect((await c.systemctl()).filter((l) => l.startsWith('enable'))).toHaveLength(2);
    // A cut before anything was installed and after the archive went cannot be mended on the Pi.
    const bare = await card();
    await execa('rm', [bare.folderFile('node.gz')]);
    const r = await bare.install();
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/not installed and .* lacks node\.gz: write the card again/);
  });

  it('is found by user-data\'s command wherever the image mounts the boot partition, and missing, says what to copy', async () => {
    const c = await card();
    const command = INSTALL_COMMAND[2]!.replaceAll('/boot/firmware /boot', `${c.fat} /nonexistent`);
    const ran = await execa('sh', ['-c', command], { reject: false, env: { MCPI_ROOT: c.root, PATH: `${join(c.fat, '..', '..', 'bin')}:${process.env.PATH}` } });
    expect(ran.exitCode).toBe(0);
    const missing = await execa('sh', ['-c', INSTALL_COMMAND[2]!.replaceAll('/boot/firmware /boot', '/nonexistent')], { reject: false });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/no microcloud-pi folder on the boot partition.*copy the whole folder from build-image --seed-only/);
  });
});
