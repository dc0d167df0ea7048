// One QEMU guest booting a node image the way a Pi does: the kernel, initrd and command line
// come from the image's own system-boot partition (the Pi firmware reads them from there).
// Its serial console goes to a log file (kept across reboots); every boot has a hard timeout.
import { createConnection } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { readImageLayout } from '../../../builder/image/base/layout.js';
import type { PrivateNetwork } from './private-network.js';

export type Accel = 'kvm' | 'tcg';

export interface GuestSpec {
  readonly name: string;
  /** amd64 boots as a PC; arm64 (the Pi's architecture) on QEMU's virt board with an emulated CPU. */
  readonly arch?: 'amd64' | 'arm64';
  readonly image: string;
  /** An empty disk for Ceph, seen in the guest as /dev/disk/by-id/virtio-<cephSerial>. */
  readonly cephDisk: string;
  readonly cephSerial: string;
  readonly macs: { readonly cluster: string; readonly uplink: string };
  readonly index: number;
  readonly workDir: string;
}

export interface BootFiles { readonly kernel: string; readonly initrd: string; readonly cmdline: string }

/** Copies vmlinuz, initrd.img and cmdline.txt out of the image's FAT partition (mtools, no mount). */
export async function bootFilesOf(image: string, dir: string): Promise<BootFiles> {
  const { boot } = await readImageLayout(image);
  const get = async (name: string) => {
    const dest = join(dir, name);
    await execa('mcopy', ['-n', '-o', '-i', `${image}@@${boot.offset}`, `::${name}`, dest], { env: { MTOOLS_SKIP_CHECK: '1' } });
    return dest;
  };
  return { kernel: await get('vmlinuz'), initrd: await get('initrd.img'), cmdline: (await readFile(await get('cmdline.txt'), 'utf8')).trim() };
}

// Plain `max` under TCG: `max,svm=off` (to spare the guest loading kvm_amd) broke systemd in
// the guest here (udevd and mounts failing, emergency mode).
const accelArgs = (accel: Accel) => (accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max']);

/** Does a KVM guest get as far as the kernel's first words within `ms`? (Nested KVM hangs on some hosts.) */
export async function kvmWorks(files: BootFiles, ms = 20_000): Promise<boolean> {
  try {
    await execa('sh', ['-c', 'test -w /dev/kvm']);
  } catch {
    return false;
  }
  const qemu = execa('qemu-system-x86_64', ['-nodefaults', '-display', 'none', '-no-reboot', ...accelArgs('kvm'), '-m', '256',
    '-kernel', files.kernel, '-append', 'console=ttyS0 panic=-1', '-serial', 'stdio'], { reject: false, timeout: ms });
  let seen = false;
  qemu.stdout?.on('data', (chunk: Buffer) => {
    if (!seen && chunk.toString().includes('Linux version')) {
      seen = true;
      qemu.kill();
    }
  });
  await qemu;
  return seen;
}

export class Guest {
  readonly log: string;
  private readonly monitor: string;
  private process: ResultPromise | undefined;
  private exited: Promise<unknown> = Promise.resolve();

  constructor(readonly spec: GuestSpec, private readonly network: PrivateNetwork, private readonly files: BootFiles,
    private readonly accel: Accel, private readonly hardTimeoutMs: number) {
    this.log = join(spec.workDir, `${spec.name}.console.log`);
    this.monitor = join(spec.workDir, `${spec.name}.monitor`);
  }

  /** Powers the guest on. It is killed if still running after the hard timeout. */
  start(): void {
    const { spec } = this;
    const taps = this.network.taps(spec.index);
    const machine = spec.arch === 'arm64'
      ? ['qemu-system-aarch64', ['-M', 'virt', '-accel', 'tcg', '-cpu', 'max', '-m', '2048', '-smp', '2']] as const
      : ['qemu-system-x86_64', [...accelArgs(this.accel), '-m', '1024', '-smp', '1']] as const;
    const [command, args] = this.network.exec(machine[0], [
      '-name', spec.name, '-nodefaults', '-display', 'none', '-no-reboot', ...machine[1],
      '-kernel', this.files.kernel, '-initrd', this.files.initrd, '-append', this.files.cmdline,
      '-drive', `file=${spec.image},format=raw,if=virtio,cache=unsafe`,
      '-drive', `file=${spec.cephDisk},format=raw,if=none,id=ceph,cache=unsafe`,
      '-device', `virtio-blk-pci,drive=ceph,serial=${spec.cephSerial}`,
      // eth0 on the cluster switch, eth1 on the uplink: PCI order is the kernel's naming order.
      '-netdev', `tap,id=cluster,ifname=${taps.cluster},script=no,downscript=no`,
      '-device', `virtio-net-pci,netdev=cluster,mac=${spec.macs.cluster},addr=0x10`,
      '-netdev', `tap,id=uplink,ifname=${taps.uplink},script=no,downscript=no`,
      '-device', `virtio-net-pci,netdev=uplink,mac=${spec.macs.uplink},addr=0x11`,
      '-chardev', `file,id=console,path=${this.log},append=on`, '-serial', 'chardev:console',
      '-monitor', `unix:${this.monitor},server=on,wait=off`,
    ]);
    this.process = execa(command, args, { reject: false, timeout: this.hardTimeoutMs, killSignal: 'SIGKILL', stdin: 'ignore' });
    this.exited = this.process;
  }

  /** The serial console so far (all boots). */
  async console(): Promise<string> {
    return readFile(this.log, 'utf8').catch(() => '');
  }

  /** A clean shutdown through ACPI (systemd powers off; -no-reboot makes QEMU exit): the disk image is then complete. */
  async powerOff(shutdownTimeoutMs: number): Promise<void> {
    await this.command('system_powerdown');
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([
      this.exited.then(() => true), new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), shutdownTimeoutMs); }),
    ]).finally(() => clearTimeout(timer));
    if (!stopped) throw new Error(`${this.spec.name} did not power off within ${shutdownTimeoutMs / 1000} s`);
  }

  /** A clean shutdown, then on again. */
  async reboot(shutdownTimeoutMs: number): Promise<void> {
    await this.powerOff(shutdownTimeoutMs);
    this.start();
  }

  /** Pulls the plug: QEMU is killed (what the guest had not written is lost), then powered on again. */
  async powerCut(): Promise<void> {
    await this.kill();
    this.start();
  }

  async kill(): Promise<void> {
    this.process?.kill('SIGKILL');
    await this.exited;
  }

  /** One HMP monitor command: wait for the prompt, send it, wait for the next prompt. */
  private command(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(this.monitor);
      let prompts = 0;
      socket.on('data', (chunk: Buffer) => {
        prompts += chunk.toString().split('(qemu)').length - 1;
        if (prompts === 1 && !socket.writableEnded) socket.write(`${line}\n`);
        if (prompts >= 2) socket.end();
      });
      socket.on('error', reject);
      socket.on('close', () => resolve());
    });
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
