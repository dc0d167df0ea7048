// A USB stick with the bundle in a node, for a site with no laptop at boot: a real bundle made by
// build-image snaps against the Snap Store TEST DOUBLE, copied into a folder that the fake host's
// `mount` shows at the mount point (test/doubles/fake-host.ts), fetched through the product's own
// bundle server on the node's address and installed on the snapd TEST DOUBLE.
import { cp, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { planNodeConfig } from '../builder/render/node-config.js';
import { localBundleDisk } from '../firstboot/bundle/bundle-disk.js';
import { stickCandidates } from '../firstboot/bundle/bundle-stick.js';
import { parseLsblk } from '../firstboot/preflight/node-facts.js';
import type { StepContext } from '../firstboot/run/types.js';
import { installSnaps } from '../firstboot/steps/install-snaps.js';
import { FakeFiles, FakeHost, FakeMicroCloud, piHardware } from './doubles/fake-host.js';
import { BundleSourceDouble, bundleForTests } from './helpers/bundle-source.js';
import { fastClock, quietLog } from './helpers/first-boot-rig.js';
import { tempDir } from './helpers/temp-dir.js';

const ADDRESS = { pi1: '127.0.0.221', pi2: '127.0.0.222', pi3: '127.0.0.223', operator: '127.0.0.229' } as const;

const bundle = bundleForTests('stick', ADDRESS, 200 * 1024);

/** lsblk's view of a USB stick: one FAT partition, not mounted. */
const stickDisk = (device: string, fstype = 'vfat') => ({
  name: device, kname: device.slice(5), type: 'disk', size: 16 * 2 ** 30, ro: false, rm: true, rota: false, model: 'Flash Disk', tran: 'usb',
  'maj:min': '8:16', 'log-sec': 512, mountpoints: [null], fstype: null, pttype: 'dos',
  children: [{ name: `${device}1`, kname: `${device.slice(5)}1`, type: 'part', size: 16 * 2 ** 30, mountpoints: [null], fstype }],
});

/** pi1 with a stick holding `folder` (the bundle as build-image snaps wrote it, under a folder of its own) and nothing on the network. */
async function nodeWithStick(folder: string | undefined) {
  const config = planNodeConfig(bundle.cluster, 'pi1');
  const host = new FakeHost('pi1', config.address, new FakeMicroCloud(['pi1', 'pi2', 'pi3'], 'pi1'));
  host.files = new FakeFiles();
  if (folder) {
    host.hardware.disks.push(stickDisk('/dev/sdb'));
    host.sticks.set('/dev/sdb1', folder);
  }
  const mount = join(await tempDir('mcpi-stick-mount-'), 'stick');
  const disk = await tempDir('mcpi-stick-node-');
  const log: string[] = [];
  const ctx: StepContext = {
    config, run: host.run, log: quietLog(log), clock: fastClock(), files: host.files, bundleDisk: localBundleDisk(disk), stickMount: mount,
    readPeer: async () => undefined, sendJoin: async () => undefined, report: () => {}, record: () => {},
  };
  return { host, ctx, disk, log, mount };
}

/** The stick as a person makes it: the bundle folder copied under a name of its own. */
async function stickWith(change?: (copy: string) => Promise<void>): Promise<string> {
  const stick = await tempDir('mcpi-stick-');
  await cp(bundle.dir, join(stick, 'stick-snaps-arm64'), { recursive: true });
  await change?.(join(stick, 'stick-snaps-arm64'));
  return stick;
}

const cmds = (host: FakeHost) => host.calls.map((c) => `${c.file} ${c.args.join(' ')}`);

/** The install step with the operator's computer (a stand-in) serving the bundle on the network too; its requests. */
async function installWithOperator(ctx: StepContext): Promise<BundleSourceDouble> {
  const operator = new BundleSourceDouble(bundle.dir);
  await operator.listen(ADDRESS.operator, bundle.operatorPort);
  try {
    await installSnaps.run(ctx);
  } finally {
    await operator.close();
  }
  return operator;
}

describe('a USB stick with the bundle', () => {
  it('with no laptop and no peer, the node takes every file from the stick (read-only), checks it, installs, and unmounts', async () => {
    const n = await nodeWithStick(await stickWith());
    await installSnaps.run(n.ctx);
    expect(n.host.mounts).toEqual([{ device: '/dev/sdb1', type: 'vfat', options: 'ro,nosuid,nodev,noexec', at: n.mount }]);
    expect(n.host.mounted.size).toBe(0);
    for (const entry of bundle.manifest.snaps) {
      expect(await readFile(join(n.disk, entry.file))).toEqual(await readFile(join(bundle.dir, entry.file)));
      expect(n.log).toContain(`bundle: ${entry.file} from USB stick (${ADDRESS.pi1}), checked`);
    }
    expect(n.host.installedFiles.map((f) => f.split('/').pop())).toEqual(bundle.manifest.snaps.map((s) => s.file));
    expect(cmds(n.host).filter((c) => c.startsWith('snap install') && !c.includes(n.disk))).toEqual([]);
  });

  it('a file on the stick that fails its check is never kept: that one comes from the operator\'s computer', async () => {
    const lxd = bundle.manifest.snaps.find((s) => s.name === 'lxd')!;
    const n = await nodeWithStick(await stickWith(async (copy) => {
      const bytes = await readFile(join(copy, lxd.file));
      const middle = bytes.length >> 1;
      bytes[middle] = bytes[middle]! ^ 0xff;
      await writeFile(join(copy, lxd.file), bytes);
    }));
    const operator = await installWithOperator(n.ctx);
    expect(n.log.join('\n')).toMatch(new RegExp(`${lxd.file} from USB stick .*: its SHA3-384 .* is not the .* its assertion vouches for; deleted`));
    expect(operator.asked(lxd.file)).toHaveLength(1);
    expect(operator.requests.filter((r) => r.path.endsWith('.snap')).map((r) => r.path)).toEqual([`/bundle/${lxd.file}`]);
    expect(await readFile(join(n.disk, lxd.file))).toEqual(await readFile(join(bundle.dir, lxd.file)));
    expect(n.host.mounted.size).toBe(0);
  });

  it('a stick without a bundle is unmounted again, and the node asks the network as before', async () => {
    const empty = await tempDir('mcpi-stick-empty-');
    await writeFile(join(empty, 'holiday.jpg'), 'not a bundle');
    const n = await nodeWithStick(empty);
    const operator = await installWithOperator(n.ctx);
    expect(n.host.mounts.map((m) => m.device)).toEqual(['/dev/sdb1']);
    expect(n.host.mounted.size).toBe(0);
    expect(operator.asked(bundle.manifest.snaps[0]!.file)).toHaveLength(1);
    expect((await readdir(n.disk)).filter((f) => f.endsWith('.snap'))).toHaveLength(bundle.manifest.snaps.length);
  });

  it('a stick left mounted at its mount point by a start cut short is unmounted first, then taken as any stick', async () => {
    const n = await nodeWithStick(await stickWith());
    expect((await n.host.run('mount', ['-t', 'vfat', '-o', 'ro', '/dev/sdb1', n.mount])).exitCode).toBe(0); // the earlier start's
    await installSnaps.run(n.ctx);
    expect(n.log).toContain(`bundle: ${n.mount} was still mounted from an earlier start; unmounting it`);
    expect(n.host.mounts.map((m) => m.options)).toEqual(['ro', 'ro,nosuid,nodev,noexec']);
    expect(n.log).toContain(`bundle: ${bundle.manifest.snaps[0]!.file} from USB stick (${ADDRESS.pi1}), checked`);
    expect(n.host.mounted.size).toBe(0);
  });

  it('a stick whose bundle.json is huge is no listing: nothing read whole, and the network is asked instead', async () => {
    const n = await nodeWithStick(await stickWith(async (copy) => { await truncate(join(copy, 'bundle.json'), 400 * 1024 * 1024); }));
    const operator = await installWithOperator(n.ctx);
    expect(operator.asked('bundle.json').length).toBeGreaterThanOrEqual(1);
    expect(operator.requests.filter((r) => r.path.endsWith('.snap'))).toHaveLength(bundle.manifest.snaps.length); // every snap from the network
    expect(n.log.join('\n')).not.toMatch(/from USB stick/);
    expect(n.host.mounted.size).toBe(0);
  });

  it('never mounts the card, a USB disk with a mounted partition (a Pi booted from USB) or a disk without a filesystem (Ceph\'s)', () => {
    const usbBoot = { ...stickDisk('/dev/sdc', 'ext4'), children: [
      { name: '/dev/sdc1', kname: 'sdc1', type: 'part', size: 2 ** 29, mountpoints: ['/boot/firmware'], fstype: 'vfat' },
      { name: '/dev/sdc2', kname: 'sdc2', type: 'part', size: 2 ** 34, mountpoints: [null], fstype: 'ext4' }] };
    const disks = [...piHardware('127.0.0.1').disks, usbBoot, stickDisk('/dev/sdd', 'exfat'), stickDisk('/dev/sde', 'ext4')];
    expect(stickCandidates(parseLsblk(JSON.stringify({ blockdevices: disks }))).map((d) => `${d.path} ${d.fstype}`))
      .toEqual(['/dev/sdd1 exfat', '/dev/sde1 ext4']);
  });
});
