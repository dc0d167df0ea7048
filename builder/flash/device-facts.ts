// What we know about a flash target before overwriting it, and the probe that finds out.
import { stat } from 'node:fs/promises';
import type { CommandRunner } from '../command-runner.js';

export interface DeviceFacts {
  readonly path: string;
  /** False for a path with nothing there (a mistyped device name). */
  readonly exists: boolean;
  readonly isBlockDevice: boolean;
  readonly bytes: number;
  readonly model?: string;
  readonly removable: boolean;
  /** Mount points of the device and its partitions. */
  readonly mountpoints: readonly string[];
}

export type DeviceProbe = (path: string) => Promise<DeviceFacts>;

const SYSTEM_MOUNTS = new Set(['/', '/boot', '/boot/efi', '/boot/firmware', '/usr', '/var', '/home', '[SWAP]']);

/** Why this target must not be overwritten without --force. Pure. */
export function refusals(facts: DeviceFacts): string[] {
  if (!facts.isBlockDevice) return [];
  const reasons: string[] = [];
  const system = facts.mountpoints.filter((m) => SYSTEM_MOUNTS.has(m));
  if (system.length) reasons.push(`it holds the running system (${system.join(', ')})`);
  else if (facts.mountpoints.length) reasons.push(`it is mounted at ${facts.mountpoints.join(', ')}; unmount it first`);
  if (!facts.removable) reasons.push('it is not a removable device');
  return reasons;
}

export const describeTarget = (f: DeviceFacts): string =>
  `${f.path} (${f.model ?? (f.isBlockDevice ? 'unknown model' : 'a file')}, ${(f.bytes / 1e9).toFixed(1)} GB${f.isBlockDevice ? (f.removable ? ', removable' : ', not removable') : ''})`;

interface LsblkDevice { path: string; size: number; model: string | null; rm: boolean; hotplug: boolean; mountpoints?: (string | null)[]; children?: LsblkDevice[] }

/** lsblk for block devices; a plain file is a fine target too (write an image to a file). */
export const lsblkProbe = (run: CommandRunner): DeviceProbe => async (path) => {
  const info = await stat(path).catch(() => undefined);
  if (!info || !info.isBlockDevice()) return { path, exists: !!info, isBlockDevice: false, bytes: info?.size ?? 0, removable: false, mountpoints: [] };
  const ran = await run('lsblk', ['-J', '-b', '-o', 'PATH,SIZE,MODEL,RM,HOTPLUG,MOUNTPOINTS', path]);
  const device = (JSON.parse(ran.stdout) as { blockdevices: LsblkDevice[] }).blockdevices[0]!;
  const mounts = (d: LsblkDevice): string[] =>
    [...(d.mountpoints ?? []).filter((m): m is string => !!m), ...(d.children ?? []).flatMap(mounts)];
  return {
    path, exists: true, isBlockDevice: true, bytes: Number(device.size), ...(device.model ? { model: device.model.trim() } : {}),
    removable: device.rm || device.hotplug, mountpoints: mounts(device),
  };
};
