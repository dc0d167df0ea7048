// End to end on the Pi's architecture (npm run test:boot, when the arm64 stand-in was built):
// build-image makes the image of test/boot/arm64-cluster.yaml from the arm64 Debian stand-in
// with the default pinned aarch64 runtime, and qemu-system-aarch64 (virt board, emulated CPU)
// boots it with the kernel, initrd and command line read from its FAT, as the Pi firmware
// does. The node walks every step to done under systemd; snap and MicroCloud are TEST DOUBLES.
import { readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromPackageRoot } from '../../builder/package-root.js';
import { tempDir } from '../helpers/temp-dir.js';
import { bootFilesOf, Guest } from './helpers/guest.js';
import type { PrivateNetwork } from './helpers/private-network.js';
import { clusterStatus, explained as explainedFor, failFastOnBrokenBoot, MINUTE, setUpLab, tearDownLab, waitFor, type Lab } from './helpers/watch.js';

const DONE_WITHIN = 30 * MINUTE; // emulated CPU: cloud-init alone took about 200 s here
const base = process.env.MCPI_STANDIN_ARM64_IMAGE;
const cacheDir = process.env.MCPI_BOOT_CACHE;

let work: string;
let network: PrivateNetwork | undefined;
let lab: Lab | undefined;
const guests: Guest[] = [];
const timings: Record<string, number> = {};
const explained = <T>(what: string, body: () => Promise<T>) => explainedFor(guests, what, body);

describe('an arm64 stand-in Pi booted from build-image output', () => {
  beforeAll(async () => {
    if (!base || !cacheDir) throw new Error('Run the boot test with npm run test:boot (it builds the arm64 stand-in base first).');
    await explained('setting up', async () => {
      lab = await setUpLab({ prefix: 'mcpi-boot-arm64-', clusterFile: fromPackageRoot('test', 'boot', 'arm64-cluster.yaml'), base,
        imageId: 'debian-13-standin-arm64', cacheDir, hostAddress: '10.99.0.1/24', guests: 1 });
      ({ work, network } = lab);
      timings.imageBuildSeconds = lab.imageBuildSeconds;
      const image = join(work, 'out', 'arm1.img');
      const cephDisk = join(work, 'unused-disk.img');
      await writeFile(cephDisk, '');
      await truncate(cephDisk, 16 * 1024 * 1024);
      await truncate(image, (await stat(image)).size + 512 * 1024 * 1024);
      const files = await bootFilesOf(image, await tempDir('mcpi-boot-arm1-'));
      guests.push(new Guest({
        name: 'arm1', arch: 'arm64', image, cephDisk, cephSerial: 'spare0', index: 0, workDir: work,
        macs: { cluster: '52:54:00:99:00:21', uplink: '52:54:00:99:01:21' },
      }, lab.network, files, 'tcg', DONE_WITHIN + 5 * MINUTE));
      const started = Date.now();
      guests[0]!.start();
      await waitFor('arm1 done', DONE_WITHIN, async () => {
        await failFastOnBrokenBoot(guests);
        const [row] = await clusterStatus(network!, work);
        process.stderr.write(`arm64 boot test ${((Date.now() - started) / 1000).toFixed(0)} s: ${row?.status
          ? `${row.status.step}/${row.status.state}${row.status.detail ? ` (${row.status.detail})` : ''}` : '-'}\n`);
        return row?.status?.step === 'done' ? row : undefined;
      }, 10_000);
      timings.bootToDoneSeconds = (Date.now() - started) / 1000;
    });
  }, 50 * MINUTE);

  afterAll(async () => {
    process.stderr.write(`arm64 boot test timings: ${JSON.stringify(timings)}\n`);
    await tearDownLab(lab, guests);
  });

  it('ran the first-boot service under systemd with the pinned aarch64 runtime, through every step to done', () => explained('arm64 first boot', async () => {
    const pin = JSON.parse(await readFile(fromPackageRoot('images', 'node-runtime.json'), 'utf8')).arm64 as { version: string };
    const [row] = await clusterStatus(network!, work);
    expect(row!.status).toMatchObject({
      step: 'done', state: 'done', service: { runtime: '/usr/lib/microcloud-pi/node', nodeVersion: `v${pin.version}`, underSystemd: true },
    });
    const text = await guests[0]!.console();
    expect(text).toMatch(/Linux version .*aarch64|Booting Linux on physical CPU/);
    expect(text).toMatch(/step preflight: done/);
    expect(text.match(/\$ microcloud preseed -> exit 0/g)).toHaveLength(1);
    // The aarch64 runtime came from the boot partition: user-data's runcmd checked and installed it.
    const installed = /microcloud-pi: first-boot service installed and started \((\d+) s\)/.exec(text);
    expect(installed).not.toBeNull();
    timings.installSeconds = Number(installed![1]);
  }));
});
