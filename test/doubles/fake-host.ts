// TEST DOUBLE of a Pi's command line: snap, microcloud, lxc, microceph, microovn, cloud-init, ip
// and timedatectl, replaying the outputs the real tools give (formats from their docs and from
// shared/reference), with state, so steps can be run, interrupted and run again.
import { parse } from 'yaml';
import type { CommandRunner, Ran } from '../../builder/command-runner.js';
import type { FileAccess } from '../../firstboot/run/types.js';

export interface Call { file: string; args: string[]; input?: string }

/** TEST DOUBLE of MicroCloud's cluster formation, shared by the nodes of one test. */
interface AddSession { initiator: string; names: string[]; arrived: Set<string>; state: 'open' | 'done' | 'failed' }
const tick = () => new Promise((r) => setTimeout(r, 5));

export class FakeMicroCloud {
  readonly arrived = new Set<string>();
  formed = false;
  members: string[] = [];
  /** Members that do not answer (a dead Pi): `cluster list` shows them UNREACHABLE, as microcluster does. */
  readonly offline = new Set<string>();
  /** Other states `cluster list` reports for a member (microcluster: NOT TRUSTED, NOT FOUND, UPGRADING). */
  readonly states = new Map<string, string>();
  /** How long `microcloud cluster list` takes (a real one asks every member: not instant). */
  listDelayMs = 0;
  /** What changed the cluster after formation: each add session's new names, each forced removal. */
  readonly adds: string[][] = [];
  readonly removed: string[] = [];
  /** Add sessions by their passphrase: initiator and joiners only meet with the same one. */
  private readonly sessions = new Map<string, AddSession>();
  /** The most add sessions that were open at one time. */
  maxOpenSessions = 0;
  /** Add sessions opened by an initiator, whether they ended in an add or failed. */
  get sessionsOpened(): number {
    return this.sessions.size;
  }
  constructor(readonly expected: readonly string[], readonly initiator: string, readonly waitMs = 10_000) {}

  /**
   * Formation when the initiator is among the systems, otherwise an add (MicroCloud's rules from
   * cmd/microcloud/preseed.go): the initiator must already be a member, names already in the
   * cluster are refused, and the initiator and the new machines meet by the session passphrase.
   */
  async preseed(node: string, input = '', initialised = false): Promise<Ran> {
    const doc = (input ? parse(input) : {}) as { initiator?: string; systems?: { name: string }[]; session_passphrase?: string };
    const names = (doc.systems ?? []).map((s) => s.name);
    if (doc.initiator && names.length && !names.includes(doc.initiator)) return this.add(node, doc.initiator, names, doc.session_passphrase ?? '', initialised);
    if (initialised) return { exitCode: 1, stdout: '', stderr: 'Error: MicroCloud is already initialized' };
    this.arrived.add(node);
    const deadline = Date.now() + this.waitMs;
    if (node === this.initiator) {
      while (this.expected.some((n) => !this.arrived.has(n))) {
        if (Date.now() > deadline) {
          const missing = this.expected.filter((n) => !this.arrived.has(n));
          return { exitCode: 1, stdout: '', stderr: `Error: System "${missing[0]}" hasn't reached out` };
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      this.formed = true;
      this.members = [...this.expected];
      return { exitCode: 0, stdout: 'Initializing new services\nMicroCloud is ready\n', stderr: '' };
    }
    while (!this.formed) {
      if (Date.now() > deadline) return { exitCode: 1, stdout: '', stderr: 'Error: Lookup timeout exceeded' };
      await new Promise((r) => setTimeout(r, 5));
    }
    return { exitCode: 0, stdout: 'Successfully joined the MicroCloud cluster and closing the session.\n', stderr: '' };
  }

  private async add(node: string, initiator: string, names: string[], passphrase: string, initialised: boolean): Promise<Ran> {
    const fail = (stderr: string): Ran => ({ exitCode: 1, stdout: '', stderr });
    const deadline = Date.now() + this.waitMs;
    if (node === initiator) {
      if (!this.members.includes(node)) return fail(`Error: ${node} must already be initialised to add systems`);
      const taken = names.find((n) => this.members.includes(n));
      if (taken) return fail(`Error: System "${taken}" is already a cluster member`);
      const session: AddSession = { initiator, names, arrived: new Set(), state: 'open' };
      this.sessions.set(passphrase, session);
      this.maxOpenSessions = Math.max(this.maxOpenSessions, [...this.sessions.values()].filter((s) => s.state === 'open').length);
      while (names.some((n) => !session.arrived.has(n))) {
        if (session.state === 'failed') return fail('Error: the session ended');
        if (Date.now() > deadline) {
          session.state = 'failed';
          return fail(`Error: System "${names.find((n) => !session.arrived.has(n))}" hasn't reached out`);
        }
        await tick();
      }
      this.members.push(...names);
      this.adds.push(names);
      session.state = 'done';
      return { exitCode: 0, stdout: 'MicroCloud is ready\n', stderr: '' };
    }
    if (!names.includes(node)) return fail(`Error: this system (${node}) is not among the preseed's systems`);
    if (initialised) return fail('Error: MicroCloud is already initialized');
    for (;;) {
      const session = this.sessions.get(passphrase);
      if (session?.state === 'open') session.arrived.add(node);
      if (session?.state === 'done' && session.arrived.has(node))
        return { exitCode: 0, stdout: 'Successfully joined the MicroCloud cluster and closing the session.\n', stderr: '' };
      if (session?.state === 'failed' && session.arrived.has(node)) return fail('Error: the initiator ended the session');
      if (Date.now() > deadline) return fail('Error: Lookup timeout exceeded');
      await tick();
    }
  }

  /** The initiator's power goes: its open add sessions end without it. */
  cutPower(node: string): void {
    for (const s of this.sessions.values()) if (s.initiator === node && s.state === 'open') s.state = 'failed';
  }

  remove(name: string): boolean {
    if (!this.members.includes(name)) return false;
    this.members = this.members.filter((m) => m !== name);
    this.offline.delete(name);
    this.removed.push(name);
    return true;
  }
}

/** TEST DOUBLE of a Pi's hardware, as `ip -j addr`, `lsblk -J` and sysfs would show it. */
export interface FakeHardware {
  nics: { name: string; mac: string; up: boolean; addresses: string[]; driver: string }[];
  /** lsblk -J -b -p's blockdevices. */
  disks: Record<string, unknown>[];
  /** Disk paths (by-id names) -> the device they point to. */
  links: Record<string, string>;
  snapd: string;
  /** microceph's dm-crypt plug. */
  dmCryptConnected: boolean;
}

export const piHardware = (address: string): FakeHardware => ({
  nics: [
    { name: 'eth0', mac: 'dc:a6:32:00:00:01', up: true, addresses: [address], driver: 'bcmgenet' },
    { name: 'eth1', mac: '00:e0:4c:68:00:01', up: true, addresses: [], driver: 'r8152' },
  ],
  disks: [
    { name: '/dev/mmcblk0', kname: 'mmcblk0', type: 'disk', size: 32 * 2 ** 30, ro: false, rm: false, rota: false, model: null, tran: null,
      'maj:min': '179:0', 'log-sec': 512, mountpoints: [null], fstype: null, pttype: 'dos', children: [
        { name: '/dev/mmcblk0p1', kname: 'mmcblk0p1', type: 'part', size: 512 * 2 ** 20, mountpoints: ['/boot/firmware'], fstype: 'vfat' },
        { name: '/dev/mmcblk0p2', kname: 'mmcblk0p2', type: 'part', size: 31 * 2 ** 30, mountpoints: ['/'], fstype: 'ext4' }] },
    { name: '/dev/sda', kname: 'sda', type: 'disk', size: 128 * 2 ** 30, ro: false, rm: false, rota: false, model: 'Samsung SSD',
      serial: 'S1', tran: 'usb', 'maj:min': '8:0', 'log-sec': 512, mountpoints: [null], fstype: null, pttype: null },
  ],
  links: { '/dev/disk/by-id/usb-Samsung_SSD-0:0': '/dev/sda', '/dev/sda': '/dev/sda' },
  snapd: '2.63+24.04ubuntu0.1',
  dmCryptConnected: false,
});

export class FakeHost {
  readonly calls: Call[] = [];
  readonly hardware: FakeHardware;
  readonly snaps = new Map<string, string>();
  held = false;
  initialised = false;
  /** Failures to inject: the next N `snap install` calls fail with a store error. */
  storeErrors = 0;
  preseedError?: string;
  timeSynced = true;
  /** What timesyncd says it is asking (`timedatectl show-timesync`). */
  timeServer = { name: '10.0.0.1', address: '10.0.0.1' };
  /** What `cloud-init status --wait --long` answers: 2 (degraded) as on Ubuntu with deprecations. */
  cloudInit: Ran = { exitCode: 2, stdout: 'status: done\n', stderr: 'deprecated key' };

  constructor(readonly node: string, readonly address: string, readonly cloud: FakeMicroCloud) {
    this.hardware = piHardware(address);
  }

  /** The test rigs number their nodes piN at 127.0.0.(10+N). */
  private addressOf(name: string): string {
    const n = /(\d+)$/.exec(name);
    return n ? `127.0.0.${10 + Number(n[1])}` : '127.0.0.99';
  }

  readonly run: CommandRunner = async (file, args, options = {}) => {
    this.calls.push({ file, args: [...args], ...(options.input !== undefined ? { input: options.input } : {}) });
    const ok = (stdout = ''): Ran => ({ exitCode: 0, stdout, stderr: '' });
    const fail = (stderr: string, exitCode = 1): Ran => ({ exitCode, stdout: '', stderr });
    const cmd = `${file} ${args.join(' ')}`;
    if (cmd === 'cloud-init status --wait --long') return this.cloudInit;
    if (cmd === 'ip -j -4 addr show') return ok(JSON.stringify([{ ifname: 'lo', addr_info: [{ local: '127.0.0.1' }] },
      { ifname: 'eth0', addr_info: [{ local: this.address, prefixlen: 24 }] }]));
    if (cmd === 'timedatectl show --property=NTPSynchronized --value') return ok(this.timeSynced ? 'yes\n' : 'no\n');
    if (cmd === 'timedatectl show-timesync --property=ServerName --property=ServerAddress')
      return ok(`ServerName=${this.timeServer.name}\nServerAddress=${this.timeServer.address}\n`);
    if (cmd === 'sync') return ok();
    if (cmd === 'ip -j addr show') return ok(JSON.stringify(this.hardware.nics.map((n) => ({
      ifname: n.name, address: n.mac, flags: n.up ? ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'] : ['BROADCAST', 'MULTICAST'],
      addr_info: [...n.addresses.map((local) => ({ family: 'inet', local, prefixlen: 24, scope: 'global' })),
        { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' }] }))));
    const driver = /^readlink -f \/sys\/class\/net\/(.+)\/device\/driver$/.exec(cmd);
    if (driver) {
      const nic = this.hardware.nics.find((n) => n.name === driver[1]);
      return ok(nic ? `/sys/bus/usb/drivers/${nic.driver}\n` : `/sys/class/net/${driver[1]}/device/driver\n`);
    }
    if (file === 'readlink' && args[0] === '-e') {
      const target = this.hardware.links[args[2]!];
      return target ? ok(`${target}\n`) : fail('');
    }
    if (file === 'lsblk' && args.join(' ').startsWith('-J -b -p -o ')) return ok(JSON.stringify({ blockdevices: this.hardware.disks }));
    if (cmd === 'snap version') return ok(`snap    ${this.hardware.snapd}\nsnapd   ${this.hardware.snapd}\nseries  16\n`);
    if (cmd === 'snap connections microceph') return ok(`Interface  Plug  Slot  Notes\n`
      + `dm-crypt  microceph:dm-crypt  ${this.hardware.dmCryptConnected ? ':dm-crypt' : '-'}  -\n`);
    if (cmd === 'snap connect microceph:dm-crypt') { this.hardware.dmCryptConnected = true; return ok(); }
    if (cmd === 'snap restart microceph.daemon') return ok('Restarted.\n');
    if (cmd === 'snap wait system seed.loaded') return ok();
    if (file === 'snap' && args[0] === 'list') {
      const channel = this.snaps.get(args[1]!);
      return channel ? ok(`Name  Version  Rev  Tracking  Publisher  Notes\n${args[1]}  1.0  100  ${channel}  canonical✓  -\n`)
        : fail(`error: no matching snaps installed`);
    }
    if (file === 'snap' && (args[0] === 'install' || args[0] === 'refresh') && args[1] !== '--hold') {
      if (args[0] === 'install' && this.snaps.has(args[1]!)) return fail(`snap "${args[1]}" is already installed`);
      if (this.storeErrors > 0) {
        this.storeErrors--;
        return fail(`error: cannot ${args[0]} "${args[1]}": Post https://api.snapcraft.io/v2/snaps/refresh: dial tcp: lookup api.snapcraft.io: Temporary failure in name resolution`);
      }
      this.snaps.set(args[1]!, args.find((a) => a.startsWith('--channel='))!.slice('--channel='.length));
      return ok(`${args[1]} (${this.snaps.get(args[1]!)}) 1.0 from Canonical✓ installed\n`);
    }
    if (file === 'snap' && args[0] === 'refresh' && args[1] === '--hold') {
      this.held = true;
      return ok(`General refreshes of ${args.slice(2).map((s) => `"${s}"`).join(', ')} held indefinitely\n`);
    }
    if (cmd === 'microcloud cluster list --format json') {
      if (this.cloud.listDelayMs) await new Promise((r) => setTimeout(r, this.cloud.listDelayMs));
      return this.initialised ? ok(JSON.stringify(this.cloud.members.map((name) => ({
        name, address: `${this.addressOf(name)}:9443`, role: 'voter',
        status: this.cloud.states.get(name) ?? (this.cloud.offline.has(name) ? 'UNREACHABLE' : 'ONLINE') }))))
        : fail('Error: Daemon not yet initialized');
    }
    if (cmd === 'microcloud preseed') {
      if (this.preseedError) return fail(`Error: ${this.preseedError}`);
      if (!options.input?.includes('session_passphrase')) return fail('Error: No systems given');
      const result = await this.cloud.preseed(this.node, options.input, this.initialised);
      if (result.exitCode === 0) this.initialised = true;
      return result;
    }
    const remove = /^microcloud remove (\S+) --force$/.exec(cmd);
    if (remove) return this.initialised && this.cloud.remove(remove[1]!) ? ok() : fail(`Error: No cluster member found with name "${remove[1]}"`);
    if (cmd === 'lxc cluster list --format json')
      return this.cloud.formed ? ok(JSON.stringify(this.cloud.members.map((m) => ({ server_name: m, status: 'Online' }))))
        : fail('Error: LXD server isn\'t part of a cluster');
    if (cmd === 'microceph status' || cmd === 'microovn status')
      return this.cloud.formed ? ok(`MicroCeph deployment summary:\n- ${this.node} (${this.address})\n`) : fail('Error: Daemon not yet initialized');
    return fail(`fake-host: unexpected command: ${cmd}`, 127);
  };
}

/** TEST DOUBLE of the node's disk for the few files the service touches; survives "reboots". */
export class FakeFiles implements FileAccess {
  /** Starts with what the kernel shows of a Pi 5 with 8 GiB: memory and the modules it can load. */
  readonly files = new Map<string, { content: string; mode: number }>([
    ['/proc/meminfo', { content: 'MemTotal:        8245588 kB\nMemFree:         7000000 kB\n', mode: 0o444 }],
    ['/proc/sys/kernel/osrelease', { content: '6.8.0-1018-raspi\n', mode: 0o444 }],
    ['/lib/modules/6.8.0-1018-raspi/modules.dep', { content: 'kernel/drivers/block/rbd.ko.zst: kernel/net/ceph/libceph.ko.zst\n'
      + 'kernel/fs/ceph/ceph.ko.zst: kernel/net/ceph/libceph.ko.zst\nkernel/zfs/zfs.ko.zst: kernel/zfs/spl.ko.zst\n', mode: 0o644 }],
    ['/lib/modules/6.8.0-1018-raspi/modules.builtin', { content: 'kernel/drivers/md/dm-crypt.ko\n', mode: 0o644 }],
  ]);
  async read(path: string) { return this.files.get(path)?.content; }
  async write(path: string, content: string, mode: number) { this.files.set(path, { content, mode }); }
  async append(path: string, content: string, mode: number) {
    const f = this.files.get(path);
    this.files.set(path, { content: (f?.content ?? '') + content, mode: f?.mode ?? mode });
  }
  async remove(path: string) { this.files.delete(path); }
  async list(dir: string) { return [...this.files.keys()].filter((p) => p === dir || p.startsWith(`${dir}/`)); }
  async readBytes(path: string) { const f = this.files.get(path); return f && Buffer.from(f.content, 'utf8'); }
  async overwrite(path: string, content: Buffer) { const f = this.files.get(path); if (f) f.content = content.toString('utf8'); }
}
