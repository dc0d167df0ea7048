// A USB stick with the snap bundle (the folder `build-image snaps` wrote, copied onto it), plugged
// into any one node: for a site with no laptop at boot. The node looks for it before it asks the
// network, mounts it read-only, and serves its folder to itself on its own address through the
// same bundle server as everywhere, so the stick's files take the very path every other source's
// take: bundle.json checked against node.json's channels, each file checked against its
// assertion (SHA3-384) before snapd sees it, and a bad file taken from the next source. Then the
// node passes the bundle on as any node does (serve-kept-bundle.ts) and the stick is unmounted.
//
// A stick is an unmounted partition (or whole disk) with a FAT, exFAT or ext4 filesystem on a USB
// disk none of whose partitions is mounted: never the card or a USB disk the system runs from.
// ext4 is mounted with `noload`, so even its journal is not replayed: the stick is not written.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandRunner } from '../../builder/command-runner.js';
import { allOf, LSBLK_COLUMNS, parseLsblk, type BlockDevice } from '../preflight/node-facts.js';
import type { Logger } from '../run/types.js';
import { BUNDLE_FILE } from './bundle-manifest.js';

/** Where a stick is mounted while the node takes the bundle from it. */
export const STICK_MOUNT = '/run/microcloud-pi/stick';

const MOUNT_OPTIONS: Readonly<Record<string, string>> = {
  vfat: 'ro,nosuid,nodev,noexec', exfat: 'ro,nosuid,nodev,noexec', ext4: 'ro,nosuid,nodev,noexec,noload',
};

export interface StickBundle {
  /** The stick's folder that holds bundle.json. */
  readonly dir: string;
  readonly device: string;
  /** Unmounts the stick. */
  release(): Promise<void>;
}

/** The partitions (or whole disks) that may be a bundle stick, in lsblk's order. Pure. */
export function stickCandidates(devices: readonly BlockDevice[]): BlockDevice[] {
  return devices
    .filter((disk) => disk.type === 'disk' && disk.transport === 'usb' && allOf(disk).every((d) => d.mountpoints.length === 0))
    .flatMap(allOf)
    .filter((d) => MOUNT_OPTIONS[d.fstype] !== undefined);
}

/** lsblk's block devices; none when it fails (a stick is a convenience: its absence never fails the step). */
async function blockDevices(run: CommandRunner): Promise<BlockDevice[]> {
  const lsblk = await run('lsblk', ['-J', '-b', '-p', '-o', LSBLK_COLUMNS]);
  if (lsblk.exitCode !== 0) return [];
  try {
    return parseLsblk(lsblk.stdout);
  } catch {
    return [];
  }
}

/** The folder on a mounted stick with bundle.json: its top, or a folder right under it (`<cluster>-snaps-<arch>`). */
async function bundleFolder(mount: string): Promise<string | undefined> {
  const isFile = (path: string) => stat(path).then((s) => s.isFile(), () => false);
  if (await isFile(join(mount, BUNDLE_FILE))) return mount;
  const entries = await readdir(mount, { withFileTypes: true }).catch(() => []);
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    if (await isFile(join(mount, entry.name, BUNDLE_FILE))) return join(mount, entry.name);
  }
  return undefined;
}

/**
 * The first stick with a bundle, mounted read-only at `mount`; undefined (nothing left mounted)
 * when there is none. A stick without a bundle is unmounted and the next one tried.
 */
export async function findBundleStick(run: CommandRunner, log: Logger, mount: string = STICK_MOUNT): Promise<StickBundle | undefined> {
  let devices = await blockDevices(run);
  // Our own mount left by a run that was cut short: otherwise that stick would count as "in use" for good.
  if (devices.flatMap(allOf).some((d) => d.mountpoints.includes(mount))) {
    log.info(`bundle: ${mount} was still mounted from an earlier start; unmounting it`);
    await run('umount', [mount]);
    devices = await blockDevices(run);
  }
  for (const device of stickCandidates(devices)) {
    if ((await run('mkdir', ['-p', mount])).exitCode !== 0) return undefined;
    const mounted = await run('mount', ['-t', device.fstype, '-o', MOUNT_OPTIONS[device.fstype]!, device.path, mount]);
    if (mounted.exitCode !== 0) {
      log.warn(`bundle: could not mount ${device.path} (${device.fstype}) read-only: ${mounted.stderr.trim().slice(0, 200)}`);
      continue;
    }
    const release = async () => {
      const ran = await run('umount', [mount]);
      if (ran.exitCode !== 0) log.warn(`bundle: could not unmount ${device.path} from ${mount}: ${ran.stderr.trim().slice(0, 200)}`);
    };
    const dir = await bundleFolder(mount);
    if (dir) {
      log.info(`bundle: a USB stick with the snap bundle: ${device.path}, ${dir}`);
      return { dir, device: device.path, release };
    }
    await release();
  }
  return undefined;
}
