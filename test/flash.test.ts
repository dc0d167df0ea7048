// build-image flash: to a file target with read-back verification, a corrupted read-back that
// fails loudly, and every refusal, with device facts given by an injected probe.
import { tempDir } from './helpers/temp-dir.js';
import { createHash } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { run, type RunDeps } from '../builder/cli/run.js';
import { refusals, type DeviceFacts } from '../builder/flash/device-facts.js';

const hex = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function imageFiles() {
  const dir = await tempDir('mcpi-flash-');
  const raw = Buffer.alloc(3 * 1024 * 1024 + 123);
  for (let i = 0; i < raw.length; i += 4096) raw.writeUInt32LE(i, i); // not all zeros
  const img = join(dir, 'pi1.img');
  await writeFile(img, raw);
  await execa('xz', ['-k', '-0', img]);
  await execa('zstd', ['-q', '-k', img]);
  return { dir, raw, img };
}

async function cli(argv: string[], deps: Partial<RunDeps> = {}, confirm?: (q: string) => Promise<string>) {
  const err: string[] = [];
  const out: string[] = [];
  const code = await run(argv, { stdout: (t) => out.push(t), stderr: (l) => err.push(l), env: {}, ...(confirm ? { confirm } : {}) }, deps);
  return { code, stdout: out.join(''), stderr: err.join('\n') };
}

const usbStick: DeviceFacts = { path: '/dev/sdz', isBlockDevice: true, bytes: 32e9, model: 'SanDisk Ultra', removable: true, mountpoints: [] };

describe('build-image flash to a file', () => {
  it.each(['', '.xz', '.zst'])('writes pi1.img%s, reads it back and reports the matching SHA-256', async (ext) => {
    const { dir, raw, img } = await imageFiles();
    const target = join(dir, 'card.bin');
    const r = await cli(['flash', `${img}${ext}`, target, '--yes']);
    expect(r.stderr).toMatch(/About to overwrite .*card\.bin \(a file/);
    expect(r.code).toBe(0);
    expect(hex(await readFile(target))).toBe(hex(raw));
    expect(r.stdout).toBe(`${hex(raw)}  ${target}\n`);
    expect(r.stderr).toMatch(/read them back: SHA-256 [0-9a-f]{64} matches/);
  });

  it('fails loudly when the read-back differs from what was written', async () => {
    const { dir, img } = await imageFiles();
    const target = join(dir, 'card.bin');
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
    const target = join(dir, 'not-really-a-device.bin');
    const probe = async () => ({ ...usbStick, path: target, ...facts });
    const refused = await cli(['flash', img, target, '--yes'], { probe });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(message);
    expect(refused.stderr).toMatch(/pass --force only if you are sure/);
    await expect(readFile(target)).rejects.toThrow(); // nothing written
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
    const r = await cli(['flash', img, join(dir, 'x.bin')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/add --yes/);
  });

  it('treats plain files as safe targets and block devices by their facts', () => {
    expect(refusals({ path: 'f', isBlockDevice: false, bytes: 0, removable: false, mountpoints: [] })).toEqual([]);
    expect(refusals(usbStick)).toEqual([]);
  });
});
