// build-image flash: to a file target with read-back verification, a corrupted read-back that
// fails loudly, and every refusal, with device facts given by an injected probe.
import { tempDir } from './helpers/temp-dir.js';
import { createHash } from 'node:crypto';
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { run, type RunDeps } from '../builder/cli/run.js';
import { refusals, type DeviceFacts } from '../builder/flash/device-facts.js';

const hex = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** pi1.img (and .xz, .zst) with a manifest.json beside it that lists `listed` (pi1.img unless told) as its build would. */
async function imageFiles(listed = '') {
  const dir = await tempDir('mcpi-flash-');
  const raw = Buffer.alloc(3 * 1024 * 1024 + 123);
  for (let i = 0; i < raw.length; i += 4096) raw.writeUInt32LE(i, i); // not all zeros
  const img = join(dir, 'pi1.img');
  await writeFile(img, raw);
  await execa('xz', ['-k', '-0', img]);
  await execa('zstd', ['-q', '-k', img]);
  await writeManifest(dir, `pi1.img${listed}`);
  return { dir, raw, img };
}

async function writeManifest(dir: string, file: string) {
  const bytes = await readFile(join(dir, file));
  const raw = await readFile(join(dir, 'pi1.img'));
  await writeFile(join(dir, 'manifest.json'), JSON.stringify({
    tool: { name: 'microcloud-pi', version: '0' }, cluster: 'shelf', configSha256: 'c'.repeat(64), base: { file: 'b.img', sha256: 'b'.repeat(64) },
    nodes: { pi1: { file, bytes: bytes.length, sha256: hex(bytes), raw: { bytes: raw.length, sha256: hex(raw) }, injected: [] } },
  }));
}

/** A flash target that exists, as a card does: an empty file. */
async function emptyFile(path: string) {
  await writeFile(path, '');
  return path;
}

async function cli(argv: string[], deps: Partial<RunDeps> = {}, confirm?: (q: string) => Promise<string>) {
  const err: string[] = [];
  const out: string[] = [];
  const code = await run(argv, { stdout: (t) => out.push(t), stderr: (l) => err.push(l), env: {}, ...(confirm ? { confirm } : {}) }, deps);
  return { code, stdout: out.join(''), stderr: err.join('\n') };
}

const usbStick: DeviceFacts = { path: '/dev/sdz', exists: true, isBlockDevice: true, bytes: 32e9, model: 'SanDisk Ultra', removable: true, mountpoints: [] };

describe('build-image flash to a file', () => {
  it.each(['', '.xz', '.zst'])('writes pi1.img%s, reads it back and reports the matching SHA-256', async (ext) => {
    const { dir, raw, img } = await imageFiles(ext);
    const target = await emptyFile(join(dir, 'card.bin'));
    const r = await cli(['flash', `${img}${ext}`, target, '--yes']);
    expect(r.stderr).toMatch(/About to overwrite .*card\.bin \(a file/);
    expect(r.code).toBe(0);
    expect(hex(await readFile(target))).toBe(hex(raw));
    expect(r.stdout).toBe(`${hex(raw)}  ${target}\n`);
    expect(r.stderr).toMatch(/read them back: SHA-256 [0-9a-f]{64} matches/);
  });

  it('fails loudly when the read-back differs from what was written', async () => {
    const { dir, img } = await imageFiles();
    const target = await emptyFile(join(dir, 'card.bin'));
    const corrupt = async () => {
      const handle = await open(target, 'r+');
      await handle.write(Buffer.from([0xff]), 0, 1, 2 * 1024 * 1024 + 7);
      await handle.close();
    };
    const r = await cli(['flash', img, target, '--yes'], { beforeReadBack: corrupt });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/card\.bin: read-back SHA-256 [0-9a-f]{64} differs from the [0-9a-f]{64} written; .*do not use it/);
  });
});

describe('build-image flash refuses', () => {
  const cases: [string, Partial<DeviceFacts>, RegExp][] = [
    ['a mounted device', { mountpoints: ['/media/me/stick'] }, /it is mounted at \/media\/me\/stick; unmount it first/],
    ['the system disk', { mountpoints: ['/', '/boot/efi'], removable: false }, /it holds the running system \(\/, \/boot\/efi\)/],
    ['a device that is not removable', { removable: false }, /it is not a removable device/],
    ['a device smaller than the image', { bytes: 1000 }, /larger than the device/],
  ];

  it.each(cases)('%s, unless --force', async (_name, facts, message) => {
    const { dir, img } = await imageFiles();
    const target = await emptyFile(join(dir, 'not-really-a-device.bin'));
    const probe = async () => ({ ...usbStick, path: target, ...facts });
    const refused = await cli(['flash', img, target, '--yes'], { probe });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(message);
    expect(refused.stderr).toMatch(/pass --force only if you are sure/);
    expect((await readFile(target)).length).toBe(0); // nothing written
    if (/larger/.test(String(message))) return;
    const forced = await cli(['flash', img, target, '--yes', '--force'], { probe });
    expect(forced.code).toBe(0);
  });

  it('says which device it will overwrite, with model and size, and stops unless told "yes"', async () => {
    const { dir, img } = await imageFiles();
    const target = join(dir, 'stick.bin');
    const probe = async () => ({ ...usbStick, path: target });
    const questions: string[] = [];
    const no = await cli(['flash', img, target], { probe }, async (q) => { questions.push(q); return 'no'; });
    expect(no.code).toBe(2);
    expect(no.stderr).toMatch(/About to overwrite .*stick\.bin \(SanDisk Ultra, 32\.0 GB, removable\)/);
    expect(no.stderr).toMatch(/Not confirmed; nothing was written/);
    expect(questions).toEqual(['Type "yes" to continue: ']);
    const yes = await cli(['flash', img, target], { probe }, async () => 'yes');
    expect(yes.code).toBe(0);
  });

  it('will not ask without a terminal: --yes is needed', async () => {
    const { dir, img } = await imageFiles();
    const r = await cli(['flash', img, await emptyFile(join(dir, 'x.bin'))]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/add --yes/);
  });

  it('treats plain files as safe targets and block devices by their facts', () => {
    expect(refusals({ path: 'f', exists: true, isBlockDevice: false, bytes: 0, removable: false, mountpoints: [] })).toEqual([]);
    expect(refusals(usbStick)).toEqual([]);
  });
});

describe('build-image flash checks the image against the manifest.json beside it', () => {
  it('says what it checked when the manifest lists the image with its SHA-256', async () => {
    const { dir, img } = await imageFiles('.zst');
    const r = await cli(['flash', `${img}.zst`, await emptyFile(join(dir, 'card.bin')), '--yes']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/pi1\.img\.zst is the image .*manifest\.json lists for pi1 \(cluster shelf, cluster file SHA-256 c{64}\): SHA-256 matches/);
    expect(r.stderr).toMatch(/checked against its raw SHA-256 [0-9a-f]{64} and read back/);
    expect(r.stderr).toMatch(/Whether the cluster file changed since that build cannot be checked here/);
  });

  const refusedCases: [string, (dir: string) => Promise<void>, RegExp][] = [
    ['an image the manifest does not list (an older build, another compression)', async () => {},
      /manifest\.json does not list pi1\.img\.zst: it is not an image of the last build into that folder/],
    ['an image with no manifest beside it', async (dir) => { await rm(join(dir, 'manifest.json')); },
      /there is no manifest\.json beside it, so which build and cluster file made it cannot be checked/],
    ['an image whose SHA-256 is not the one the manifest lists for it (another file under its name)', async (dir) => {
      await writeManifest(dir, 'pi1.img.zst');
      const other = join(dir, 'other.img');
      await writeFile(other, Buffer.alloc(4096, 7));
      await execa('zstd', ['-q', '-f', other, '-o', join(dir, 'pi1.img.zst')]);
    }, /pi1\.img\.zst has SHA-256 [0-9a-f]{64}, not the [0-9a-f]{64} that .*manifest\.json lists for pi1: it is not the image that build wrote/],
  ];

  it.each(refusedCases)('refuses %s, writes nothing, and with --force writes it saying only the read-back is checked', async (_name, change, message) => {
    const { dir, img } = await imageFiles(); // the manifest lists pi1.img
    await change(dir);
    const target = await emptyFile(join(dir, 'card.bin'));
    const refused = await cli(['flash', `${img}.zst`, target, '--yes']);
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringMatching(message)]);
    expect(refused.stderr).toMatch(/pass --force only if you know what this image holds/);
    expect(refused.stderr).not.toMatch(/About to overwrite/);
    expect((await readFile(target)).length).toBe(0);
    const forced = await cli(['flash', `${img}.zst`, target, '--yes', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/flashing it anyway \(--force\): only the read-back will be checked/);
  });
});

describe('build-image flash of a file that does not decode', () => {
  it('says so with exit 5 (not an unexpected failure) when a .img.zst holds no zstd data', async () => {
    const { dir, img } = await imageFiles();
    await rm(join(dir, 'pi1.img.zst'));
    await rename(join(dir, 'pi1.img.xz'), join(dir, 'pi1.img.zst'));
    const r = await cli(['flash', `${img}.zst`, await emptyFile(join(dir, 'card.bin')), '--yes', '--force']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/pi1\.img\.zst: could not be decoded \(corrupt or truncated: invalid zstd data\)/);
  });
});

describe('build-image flash to a path that does not exist', () => {
  it('says there is no such device, exits 2 and creates nothing', async () => {
    const { dir, img } = await imageFiles();
    const typo = join(dir, 'sdx');
    const r = await cli(['flash', img, typo, '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/sdx does not exist: there is no device by that name\. List the cards with lsblk/);
    expect(r.stderr).not.toMatch(/a file, 0\.0 GB|Everything on it will be lost/);
    await expect(stat(typo)).rejects.toThrow(/ENOENT/);
  });
});
