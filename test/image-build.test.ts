// build-image on a raspi-like fixture: files read back with mtools and debugfs, fsck clean,
// reproducible bytes, and a clear error with nothing partial for every broken input.
import { tempDir } from './helpers/temp-dir.js';
import { cp, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { load } from 'js-yaml';
import { run } from '../builder/cli/run.js';
import { readImageLayout } from '../builder/image/base/layout.js';
import { NODE_CONFIG_PATH, type NodeConfig } from '../builder/render/node-config.js';
import { renderSeed } from '../builder/render/seed.js';
import { operatorPublicKey, readTicket } from '../firstboot/join/join-ticket.js';
import { exampleFile, loadExample, REPO, TEST_PASSPHRASE } from './helpers/examples.js';
import { TEST_ISSUED_MS, TEST_OPERATOR_KEY, TEST_TICKET } from './helpers/operator-key.js';
import { fakeNodeRuntime, makeRaspiImage, tool } from './helpers/raspi-fixture.js';

import { jest } from '@jest/globals';

jest.setTimeout(120_000);

let baseXz: string;
let baseImg: string;
let runtime: string;
beforeAll(async () => {
  runtime = await fakeNodeRuntime();
  baseXz = await makeRaspiImage('base', [], { xz: true });
  baseImg = await makeRaspiImage('base-raw');
});

async function workspace() {
  const dir = await tempDir('mcpi-img-');
  await cp(exampleFile('three-pis-ceph'), join(dir, 'cluster.yaml'));
  await writeFile(join(dir, 'cluster.secrets.yaml'), `session_passphrase: ${TEST_PASSPHRASE}\noperator_key: ${TEST_OPERATOR_KEY}\n`,
    { mode: 0o600 });
  return { dir, config: join(dir, 'cluster.yaml'), out: join(dir, 'out'), cache: join(dir, 'cache') };
}

/** Each card's join ticket is issued at the build's moment unless MICROCLOUD_PI_TICKET_TIME fixes it. */
const ticketTime = (ms: number) => ({ MICROCLOUD_PI_TICKET_TIME: String(ms) });

async function cli(argv: string[], env: Record<string, string> = ticketTime(TEST_ISSUED_MS)) {
  const err: string[] = [];
  const out: string[] = [];
  const withRuntime = argv.includes('--base-image') ? [...argv, '--node-runtime', runtime] : argv;
  const code = await run(withRuntime, { stdout: (t) => out.push(t), stderr: (l) => err.push(l), env });
  return { code, stdout: out.join(''), stderr: err.join('\n') };
}

const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

const ORDER = ['node.gz', 'firstboot.mjs', 'microcloud-pi-firstboot.service', 'build.json', 'install.sh', 'SHA256SUMS'];
const order = (path: string) => ORDER.indexOf(path.split('/').pop()!);

/** SHA-256 of one partition's bytes inside an image. */
async function partitionSha256(image: string, place: { offset: number; bytes: number }): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(image, { start: place.offset, end: place.offset + place.bytes - 1 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function fsckBoth(image: string) {
  const layout = await readImageLayout(image);
  const fat = join(await tempDir('mcpi-fat-'), 'p1.fat');
  await tool('dd', [`if=${image}`, `of=${fat}`, 'bs=1M', 'iflag=skip_bytes,count_bytes', `skip=${layout.boot.offset}`, `count=${layout.boot.bytes}`, 'status=none']);
  const vfat = await tool('fsck.vfat', ['-n', fat]);
  const ext4 = await tool('e2fsck', ['-fn', `${image}?offset=${layout.root.offset}`]);
  return { vfat, ext4, layout };
}

/** The join ticket in the node.json of the user-data on an image's system-boot. */
async function ticketOn(image: string): Promise<string> {
  const { boot } = await readImageLayout(image);
  const userData = load((await tool('mcopy', ['-n', '-i', `${image}@@${boot.offset}`, '::/user-data', '-'])).stdout) as
    { write_files: { path: string; content: string }[] };
  return (JSON.parse(userData.write_files.find((f) => f.path === NODE_CONFIG_PATH)!.content) as NodeConfig).join.ticket!;
}

describe('build-image --node pi1 --base-image', () => {
  it('writes a flashable image whose seed and files read back exactly, fsck clean', async () => {
    const ws = await workspace();
    const r = await cli(['-c', ws.config, '--node', 'pi1', '--base-image', baseXz, '--cache', ws.cache, '-o', ws.out]);
    expect(r.stderr).not.toMatch(/unexpected/);
    expect(r.code).toBe(0);
    const image = join(ws.out, 'pi1.img');
    expect((await stat(image)).mode & 0o777).toBe(0o600);
    const { vfat, ext4, layout } = await fsckBoth(image);
    expect(vfat.exitCode).toBe(0);
    expect(ext4.exitCode).toBe(0);

    const seed = renderSeed(loadExample('three-pis-ceph'), 'pi1', TEST_PASSPHRASE, { ticket: TEST_TICKET });
    for (const name of ['user-data', 'meta-data', 'network-config'] as const) {
      const back = await tool('mcopy', ['-n', '-i', `${image}@@${layout.boot.offset}`, `::/${name}`, '-']);
      expect(back.stdout).toBe(seed[name].replace(/\n$/, '')); // execa strips the final newline
    }
    const cmdline = await tool('mcopy', ['-n', '-i', `${image}@@${layout.boot.offset}`, '::/cmdline.txt', '-']);
    expect(cmdline.stdout).toContain('root=LABEL=writable'); // Ubuntu's own files stay

    // Only system-boot differs from the base: writable is the base's, byte for byte.
    const base = join(ws.dir, 'base.img');
    await tool('bash', ['-c', `xz -dc '${baseXz}' > '${base}'`]);
    expect(await partitionSha256(image, layout.root)).toBe(await partitionSha256(base, (await readImageLayout(base)).root));
    const fat = `${image}@@${layout.boot.offset}`;
    const folderFile = async (name: string) => (await tool('mcopy', ['-n', '-i', fat, `::/microcloud-pi/${name}`, '-'])).stdout;
    const listing = (await tool('mdir', ['-b', '-i', fat, '::/microcloud-pi'])).stdout.split('\n').filter(Boolean).map((l) => l.replace('::/microcloud-pi/', '')).sort();
    expect(listing).toEqual(['SHA256SUMS', 'build.json', 'firstboot.mjs', 'install.sh', 'microcloud-pi-firstboot.service', 'node.gz']);
    const info = JSON.parse(await folderFile('build.json'));
    expect(info).toMatchObject({ tool: 'microcloud-pi', cluster: 'shelf', configSha256: await sha256(ws.config) });
    expect(info).not.toHaveProperty('node'); // one folder for all nodes
    const unit = await folderFile('microcloud-pi-firstboot.service');
    expect(unit).toContain('ExecStart=/usr/lib/microcloud-pi/node /usr/lib/microcloud-pi/firstboot.mjs');
    expect(unit).toContain('RestartPreventExitStatus=78');
    expect(unit).not.toMatch(/After=.*cloud-init\.target/);
    const dumped = join(ws.dir, 'bundle.mjs');
    await tool('mcopy', ['-n', '-i', fat, '::/microcloud-pi/firstboot.mjs', dumped]);
    expect(await sha256(dumped)).toBe(await sha256(join(REPO, 'dist', 'firstboot', 'firstboot.mjs')));
    const archive = join(ws.dir, 'node.gz');
    await tool('mcopy', ['-n', '-i', fat, '::/microcloud-pi/node.gz', archive]);
    expect(gunzipSync(await readFile(archive))).toEqual(await readFile(runtime));
    expect(await folderFile('SHA256SUMS')).toContain(`${await sha256(archive)}  node.gz`);
    const sums = await readFile(join(ws.out, 'SHA256SUMS'), 'utf8');
    expect(sums).toBe(`${await sha256(image)} *pi1.img\n`);
    const manifest = JSON.parse(await readFile(join(ws.out, 'manifest.json'), 'utf8'));
    expect(manifest.base.sha256).toBe(await sha256(baseXz));
    expect(manifest.nodes.pi1.sha256).toBe(await sha256(image));
    expect(manifest.nodes.pi1.injected.map((f: { path: string }) => f.path)).toEqual(
      ['/user-data', '/meta-data', '/network-config', ...listing.map((n) => `/microcloud-pi/${n}`).sort((a, b) => order(a) - order(b))]);
    expect(await readdir(ws.out)).toEqual(['SHA256SUMS', 'manifest.json', 'pi1.img']);
  });

  it('gives the same bytes for the same inputs and ticket time, and reuses the decompressed base', async () => {
    const ws = await workspace();
    const first = await cli(['-c', ws.config, '--node', 'pi2', '--base-image', baseXz, '--cache', ws.cache, '-o', join(ws.dir, 'a')]);
    const second = await cli(['-c', ws.config, '--node', 'pi2', '--base-image', baseXz, '--cache', ws.cache, '-o', join(ws.dir, 'b')]);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(second.stderr).toMatch(/\(cached\)/);
    expect(await sha256(join(ws.dir, 'a', 'pi2.img'))).toBe(await sha256(join(ws.dir, 'b', 'pi2.img')));
  });

  it('gives another join ticket for another MICROCLOUD_PI_TICKET_TIME: the same bytes come from the time given, not by chance', async () => {
    const ws = await workspace();
    const args = (out: string) => ['-c', ws.config, '--node', 'pi2', '--base-image', baseImg, '--cache', ws.cache, '-o', join(ws.dir, out)];
    const later = TEST_ISSUED_MS + 60_000;
    expect([(await cli(args('a'))).code, (await cli(args('b'), ticketTime(later))).code]).toEqual([0, 0]);
    const [a, b] = [join(ws.dir, 'a', 'pi2.img'), join(ws.dir, 'b', 'pi2.img')];
    const publicKey = operatorPublicKey(TEST_OPERATOR_KEY);
    expect([readTicket(publicKey, await ticketOn(a)), readTicket(publicKey, await ticketOn(b))]).toEqual([
      { ok: true, ticket: expect.objectContaining({ node: 'pi2', issued: TEST_ISSUED_MS }) },
      { ok: true, ticket: expect.objectContaining({ node: 'pi2', issued: later }) },
    ]);
    expect(await sha256(a)).not.toBe(await sha256(b));
  });

  it('keeps SHA256SUMS lines of nodes built earlier', async () => {
    const ws = await workspace();
    await cli(['-c', ws.config, '--node', 'pi1', '--base-image', baseImg, '--cache', ws.cache, '-o', ws.out]);
    await cli(['-c', ws.config, '--node', 'pi3', '--base-image', baseImg, '--cache', ws.cache, '-o', ws.out]);
    const sums = await readFile(join(ws.out, 'SHA256SUMS'), 'utf8');
    expect(sums.split('\n').filter(Boolean).map((l) => l.split('*')[1])).toEqual(['pi1.img', 'pi3.img']);
    expect(Object.keys(JSON.parse(await readFile(join(ws.out, 'manifest.json'), 'utf8')).nodes)).toEqual(['pi1', 'pi3']);
  });
});

describe('a system-boot partition with too little room', () => {
  it('is refused with exit 6, naming the free and needed bytes and what to remove, and nothing is left', async () => {
    const ws = await workspace();
    const full = await makeRaspiImage('full', ['--boot-fill-kib', String(62 * 1024 + 512)]);
    const r = await cli(['-c', ws.config, '--node', 'pi1', '--base-image', full, '--cache', ws.cache, '-o', ws.out]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/system-boot partition has \d+\.\d MB free, and the first-boot folder with the seed needs \d+\.\d MB\. Remove \d+\.\d MB or more/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect((await readdir(ws.out).catch(() => [])).filter((f) => f.includes('partial') || f.endsWith('.img'))).toEqual([]);
  });
});

describe('broken base images', () => {
  const cases: [string, () => Promise<string>, RegExp][] = [
    ['a wrong boot label', () => makeRaspiImage('label', ['--boot-label', 'BOOT']), /no FAT partition labelled "system-boot" \(found p1 FAT "BOOT", p2 ext4 "writable"\)/],
    ['a wrong root label', () => makeRaspiImage('rootlabel', ['--root-label', 'rootfs']), /no ext4 partition labelled "writable"/],
    ['a FAT12 boot partition', () => makeRaspiImage('fat12', ['--boot-fat', '12']), /system-boot partition cannot be written: not a FAT16 or FAT32 filesystem\. Use an Ubuntu Server/],
    ['a missing root partition', () => makeRaspiImage('noroot', ['--no-root']), /no ext4 partition labelled "writable" \(found p1 FAT "system-boot"\)/],
    ['no partition table', async () => { const p = join(await tempDir('mcpi-'), 'zero.img'); await writeFile(p, ''); await truncate(p, 4 << 20); return p; }, /no MBR partition table/],
    ['a truncated image', async () => { const p = await makeRaspiImage('short'); await truncate(p, 80 << 20); return p; }, /partition 2 ends past the end of the file/],
    ['a corrupt .img.xz', async () => {
      const p = await makeRaspiImage('corrupt', [], { xz: true });
      const bytes = await readFile(p);
      bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
      await writeFile(p, bytes);
      return p;
    }, /could not be decompressed with xz/],
  ];

  it.each(cases)('%s: exit 6, a clear message, nothing partial in out/ or the cache', async (_name, make, message) => {
    const ws = await workspace();
    const base = await make();
    const r = await cli(['-c', ws.config, '--all', '--base-image', base, '--cache', ws.cache, '-o', ws.out]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await readdir(ws.out).catch(() => [])).toEqual([]);
    const cached = await readdir(ws.cache).catch(() => [] as string[]);
    expect(cached.filter((f) => f.includes('partial'))).toEqual([]);
    if (/xz/.test(String(message))) expect(cached).toEqual([]);
  });
});

describe('--compress', () => {
  it.each([['xz', 'xz'], ['zst', 'zstd']])('writes a .img.%s that decompresses to the raw image the manifest names, reproducibly', async (ext, tool_) => {
    const ws = await workspace();
    const args = ['-c', ws.config, '--node', 'pi1', '--base-image', baseImg, '--cache', ws.cache, '--compress', ext];
    expect((await cli([...args, '-o', join(ws.dir, 'a')])).code).toBe(0);
    expect((await cli([...args, '-o', join(ws.dir, 'b')])).code).toBe(0);
    const file = join(ws.dir, 'a', `pi1.img.${ext}`);
    expect(await readdir(join(ws.dir, 'a'))).toEqual(['SHA256SUMS', 'manifest.json', `pi1.img.${ext}`]);
    expect(await sha256(file)).toBe(await sha256(join(ws.dir, 'b', `pi1.img.${ext}`)));
    const manifest = JSON.parse(await readFile(join(ws.dir, 'a', 'manifest.json'), 'utf8'));
    const raw = join(ws.dir, 'raw.img');
    await tool('bash', ['-c', `${tool_} -dc '${file}' > '${raw}'`]);
    expect(manifest.nodes.pi1.raw.sha256).toBe(await sha256(raw));
    expect(manifest.nodes.pi1.sha256).toBe(await sha256(file));
    expect(await readFile(join(ws.dir, 'a', 'SHA256SUMS'), 'utf8')).toBe(`${await sha256(file)} *pi1.img.${ext}\n`);
  });

  it('refuses an unknown compression with exit 2', async () => {
    const ws = await workspace();
    const r = await cli(['-c', ws.config, '--node', 'pi1', '--base-image', baseImg, '--compress', 'gz']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--compress gz is not one of none, xz, zst/);
  });
});

describe('a full disk', () => {
  it('fails with a clear error and leaves no partial image (file size limit as a stand-in)', async () => {
    const ws = await workspace();
    // RLIMIT_FSIZE makes every write past 20 MiB fail with EFBIG, as a full disk fails with ENOSPC.
    const r = await tool('bash', ['-c', `ulimit -f 20480; exec node --import tsx '${join(REPO, 'builder', 'cli', 'main.ts')}' `
      + `-c '${ws.config}' --node pi1 --base-image '${baseImg}' --cache '${ws.cache}' -o '${ws.out}' --node-runtime '${runtime}'`]);
    expect(r.exitCode).not.toBe(0);
    expect(r.exitCode).not.toBe(1);
    expect(r.stderr).toMatch(/build-image: the disk is full \(EFBIG/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect((await readdir(ws.out).catch(() => [])).filter((f) => f.endsWith('.img') || f.includes('partial'))).toEqual([]);
  });
});
