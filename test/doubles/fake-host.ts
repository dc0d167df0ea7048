// TEST DOUBLE of a Pi's command line: snap, microcloud, lxc, microceph, microovn, cloud-init, ip
// and timedatectl, replaying the outputs the real tools give (formats from their docs and from
// shared/reference), with state, so steps can be run, interrupted and run again.
import type { CommandRunner, Ran } from '../../builder/command-runner.js';
import type { FileAccess } from '../../firstboot/run/types.js';

export interface Call { file: string; args: string[]; input?: string }

/** TEST DOUBLE of MicroCloud's cluster formation, shared by the nodes of one test. */
export class FakeMicroCloud {
  readonly arrived = new Set<string>();
  formed = false;
  members: string[] = [];
  constructor(readonly expected: readonly string[], readonly initiator: string, readonly waitMs = 10_000) {}

  /** The initiator waits for every listed joiner; a joiner waits for the initiator to form the cluster. */
  async preseed(node: string): Promise<Ran> {
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
}

export class FakeHost {
  readonly calls: Call[] = [];
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

  constructor(readonly node: string, readonly address: string, readonly cloud: FakeMicroCloud) {}

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
    if (cmd === 'microcloud cluster list --format json')
      return this.initialised ? ok(JSON.stringify(this.cloud.members.map((name) => ({ name, status: 'ONLINE' }))))
        : fail('Error: Daemon not yet initialized');
    if (cmd === 'microcloud preseed') {
      if (this.initialised) return fail('Error: MicroCloud is already initialized');
      if (this.preseedError) return fail(`Error: ${this.preseedError}`);
      if (!options.input?.includes('session_passphrase')) return fail('Error: No systems given');
      const result = await this.cloud.preseed(this.node);
      if (result.exitCode === 0) this.initialised = true;
      return result;
    }
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
  readonly files = new Map<string, { content: string; mode: number }>();
  async read(path: string) { return this.files.get(path)?.content; }
  async write(path: string, content: string, mode: number) { this.files.set(path, { content, mode }); }
  async remove(path: string) { this.files.delete(path); }
}
