// TEST DOUBLE of a Pi's command line: snap, microcloud, lxc, microceph, microovn, cloud-init, ip
// and timedatectl, replaying the outputs the real tools give (formats from their docs and from
// shared/reference), with state, so steps can be run, interrupted and run again.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { parse } from 'yaml';
import type { CommandRunner, Ran } from '../../builder/command-runner.js';
import { MICROCLOUD_SERVER_CERT } from '../../firstboot/join/microcloud-cert.js';
import type { Clock, FileAccess } from '../../firstboot/run/types.js';

export interface Call { file: string; args: string[]; input?: string }

/**
 * TEST DOUBLE of MicroCloud's cluster formation and add sessions, shared by the nodes of one test,
 * as strict as MicroCloud 2.x on failure. Upstream (canonical/microcloud; read through the code
 * index, see the comments at each rule): cmd/microcloud/preseed.go RunPreseed, cmd/microcloud/ask.go
 * askJoinIntents and checkInitialized, cmd/microcloud/session.go, api/session.go sessionGet and
 * handleJoiningSession, cmd/microcloud/main_init.go addPeers and waitForJoin.
 *
 * Not modelled: multicast discovery itself (a joiner meets the session of its passphrase), the
 * order in which an add joins each new machine to MicroCloud and then to LXD, MicroCeph and
 * MicroOVN (here every machine of a session is a member at the end of it, or none is), and a
 * 50-member limit (documented in doc/reference/requirements.md, enforced nowhere in the code read).
 */
/** What a machine sends when it reaches out (api/types/session.go SessionJoinPost: name, address, certificate). */
export interface Intent { readonly address: string; readonly certificate?: string }
/**
 * `intents`: by name, as the initiator keeps them (cmd/microcloud/ask.go askJoinIntents:
 * `joinIntents[session.Intent.Name] = session.Intent`): a later intent under a name replaces the
 * earlier one, and only the kept one is confirmed; the other machine waits for its session timeout.
 */
interface AddSession { initiator: string; names: string[]; arrived: Set<string>; intents: Map<string, Intent>; state: 'open' | 'adding' | 'done' | 'failed' }
const DEFAULT_LOOKUP_S = 60; // cmd/microcloud/main_init.go: DefaultLookupTimeout = time.Minute
const DEFAULT_SESSION_S = 3600; // DefaultSessionTimeout = 60 * time.Minute
const MAX_SESSION_S = 3600; // api/session.go sessionGet: "Session timeout cannot exceed 60 minutes"

/** Time as the double counts it: a model clock, or the wall clock with lookups of `waitMs` and sessions five times that (the unit tests' quick failures). */
export interface CloudTiming {
  readonly clock: Clock;
  /** How long an add session takes once every machine has reached out, by the number of new machines. */
  readonly addMs?: (systems: number) => number;
}

const cancelled = (): Ran => ({ exitCode: undefined, stdout: '', stderr: '', cancelled: true });

export class FakeMicroCloud {
  readonly arrived = new Set<string>();
  formed = false;
  /** The formation failed (its initiator gave up or died): its joiners are never told (they wait for their session timeout). */
  formationFailed = false;
  members: string[] = [];
  /** Where each member is and the certificate it joined with, as `cluster list` prints them (unknown for members set by hand). */
  readonly memberIntents = new Map<string, Intent>();
  /** Members that do not answer (a dead Pi): `cluster list` shows them UNREACHABLE, as microcluster does. */
  readonly offline = new Set<string>();
  /** Other states `cluster list` reports for a member (microcluster: NOT TRUSTED, NOT FOUND, UPGRADING). */
  readonly states = new Map<string, string>();
  /** How long `microcloud cluster list` takes (a real one asks every member: not instant). */
  listDelayMs = 0;
  /** What changed the cluster after formation: each add session's new names, each forced removal. */
  readonly adds: string[][] = [];
  readonly removed: string[] = [];
  /** Machines that lose power right after they reached out to an add session: left as MicroCloud leaves them. */
  readonly diesAfterReachingOut = new Set<string>();
  /** Add sessions by their passphrase: initiator and joiners only meet with the same one. */
  private readonly sessions = new Map<string, AddSession>();
  /** Daemons (a name and a certificate: two machines may claim one name) with a session in its trust phase now (api/session.go: one per daemon). */
  private readonly inSession = new Set<string>();
  /** The most add sessions that were open at one time. */
  maxOpenSessions = 0;
  /** Add sessions opened by an initiator, whether they ended in an add or failed. */
  get sessionsOpened(): number {
    return this.sessions.size;
  }
  constructor(readonly expected: readonly string[], readonly initiator: string, readonly waitMs = 10_000, readonly timing?: CloudTiming) {}

  private now(): number {
    return this.timing ? this.timing.clock.now() : Date.now();
  }

  private tick(): Promise<void> {
    return this.timing ? this.timing.clock.sleep(1000) : new Promise((r) => setTimeout(r, 5));
  }

  /** The preseed's own lookup and session timeouts (with timing), or waitMs for both. */
  private timeouts(doc: { lookup_timeout?: number; session_timeout?: number }): { lookupMs: number; sessionMs: number } {
    if (!this.timing) return { lookupMs: this.waitMs, sessionMs: 5 * this.waitMs }; // a session outlasts a lookup, as 3600 s does 60 s
    const positive = (v: number | undefined, d: number) => (typeof v === 'number' && v > 0 ? v : d); // preseed.go: <= 0 keeps the default
    return { lookupMs: positive(doc.lookup_timeout, DEFAULT_LOOKUP_S) * 1000, sessionMs: positive(doc.session_timeout, DEFAULT_SESSION_S) * 1000 };
  }

  /**
   * Formation when the initiator is among the systems, otherwise an add (cmd/microcloud/preseed.go):
   * the initiator must already be a member, names already in the cluster are refused, and the
   * initiator and the new machines meet by the session passphrase.
   */
  async preseed(node: string, input = '', initialised = false, signal?: AbortSignal, intent?: Intent): Promise<Ran> {
    const doc = (input ? parse(input) : {}) as { initiator?: string; systems?: { name: string }[]; session_passphrase?: string;
      lookup_timeout?: number; session_timeout?: number };
    if (this.timing && (doc.session_timeout ?? 0) > MAX_SESSION_S)
      return { exitCode: 1, stdout: '', stderr: 'Error: Failed to start session websocket: Failed websocket upgrade request: Session timeout cannot exceed 60 minutes' };
    // api/session.go sessionGet: "There already is an active session" while this daemon's session is in its trust phase.
    const daemon = `${node}\n${intent?.certificate ?? ''}`;
    if (this.inSession.has(daemon))
      return { exitCode: 1, stdout: '', stderr: 'Error: Failed to start session websocket: Failed websocket upgrade request: There already is an active session' };
    const names = (doc.systems ?? []).map((s) => s.name);
    const limits = this.timeouts(doc);
    this.inSession.add(daemon);
    try {
      if (doc.initiator && names.length && !names.includes(doc.initiator))
        return await this.add(node, doc.initiator, names, doc.session_passphrase ?? '', initialised, limits, signal, intent);
      return await this.form(node, initialised, limits, signal, intent);
    } finally {
      this.inSession.delete(daemon);
    }
  }

  private async form(node: string, initialised: boolean, limits: { lookupMs: number; sessionMs: number }, signal?: AbortSignal, intent?: Intent): Promise<Ran> {
    // ask.go checkInitialized: a joiner that is initialised already is refused.
    if (initialised) return { exitCode: 1, stdout: '', stderr: 'Error: MicroCloud is already initialized' };
    this.arrived.add(node);
    if (intent) this.memberIntents.set(node, intent);
    const started = this.now();
    if (node === this.initiator) {
      this.formationFailed = false;
      while (this.expected.some((n) => !this.arrived.has(n))) {
        if (signal?.aborted) return cancelled();
        if (this.now() > started + limits.lookupMs) {
          this.formationFailed = true;
          const missing = this.expected.filter((n) => !this.arrived.has(n));
          return { exitCode: 1, stdout: '', stderr: `Error: System "${missing[0]}" hasn't reached out` }; // ask.go askJoinIntents
        }
        await this.tick();
      }
      this.formed = true;
      this.members = [...this.expected];
      return { exitCode: 0, stdout: 'Initializing new services\nMicroCloud is ready\n', stderr: '' };
    }
    // A joiner is never told that the initiator gave up: it waits for its own session timeout (issue 597).
    while (!this.formed) {
      if (signal?.aborted) {
        this.arrived.delete(node);
        return cancelled();
      }
      if (this.now() > started + (this.timing ? limits.sessionMs : limits.lookupMs)) {
        this.arrived.delete(node);
        return { exitCode: 1, stdout: '', stderr: this.timing ? JOINER_TIMED_OUT : 'Error: Lookup timeout exceeded' };
      }
      await this.tick();
    }
    return { exitCode: 0, stdout: 'Successfully joined the MicroCloud cluster and closing the session.\n', stderr: '' };
  }

  private async add(node: string, initiator: string, names: string[], passphrase: string, initialised: boolean,
    limits: { lookupMs: number; sessionMs: number }, signal?: AbortSignal, intent: Intent = { address: '' }): Promise<Ran> {
    const fail = (stderr: string): Ran => ({ exitCode: 1, stdout: '', stderr });
    const started = this.now();
    if (node === initiator) {
      if (!this.members.includes(node)) return fail(`Error: ${node} must already be initialised to add systems`);
      const taken = names.find((n) => this.members.includes(n));
      if (taken) return fail(`Error: System with name "${taken}" is already clustered`); // preseed.go RunPreseed
      const session: AddSession = { initiator, names, arrived: new Set(), intents: new Map(), state: 'open' };
      this.sessions.set(passphrase, session);
      this.maxOpenSessions = Math.max(this.maxOpenSessions, [...this.sessions.values()].filter((s) => s.state === 'open' || s.state === 'adding').length);
      // ask.go askJoinIntents: every listed system must reach out within lookup_timeout.
      while (names.some((n) => !session.arrived.has(n))) {
        if (session.state === 'failed') return fail('Error: the session ended');
        if (signal?.aborted) {
          session.state = 'failed';
          return cancelled();
        }
        if (this.now() > started + limits.lookupMs) {
          session.state = 'failed';
          return fail(`Error: System "${names.find((n) => !session.arrived.has(n))}" hasn't reached out`);
        }
        await this.tick();
      }
      // Trust is established; the add itself (main_init.go addPeers) is not bounded by session_timeout.
      this.inSession.delete(`${node}\n${intent.certificate ?? ''}`);
      session.state = 'adding';
      const until = this.now() + (this.timing?.addMs?.(names.length) ?? 0);
      while (this.now() < until) {
        if ((session.state as AddSession['state']) === 'failed') return fail('Error: the session ended'); // cutPower, meanwhile
        await this.tick();
      }
      const dead = names.find((n) => this.diesAfterReachingOut.has(n));
      if (dead) {
        // The machine joined MicroCloud, then lost power before LXD joined it (main_init.go waitForJoin): a member
        // that does not answer, and a failed add whose reverter only deletes the join tokens.
        this.members.push(dead);
        this.offline.add(dead);
        session.state = 'failed';
        return fail(`Error: System "${dead}" failed to join the cluster: Timed out waiting for cluster member "${dead}" to appear`);
      }
      this.members.push(...names);
      for (const name of names) this.memberIntents.set(name, session.intents.get(name)!);
      this.adds.push(names);
      session.state = 'done';
      return { exitCode: 0, stdout: 'MicroCloud is ready\n', stderr: '' };
    }
    if (!names.includes(node)) return fail(`Error: this system (${node}) is not among the preseed's systems`);
    if (initialised) return fail('Error: MicroCloud is already initialized'); // ask.go checkInitialized
    let reached: AddSession | undefined;
    for (;;) {
      const session = this.sessions.get(passphrase);
      if (!reached && session?.state === 'open') {
        session.arrived.add(node);
        session.intents.set(node, intent); // replaces an intent of the same name (ask.go)
        reached = session;
        if (this.diesAfterReachingOut.has(node)) throw new Error(`power cut: ${node} died right after it reached out`);
      }
      // Confirmed only if its own intent was the one kept; a replaced one is never told (handleJoiningSession waits for its timeout).
      if (reached?.state === 'done' && reached.intents.get(node) === intent)
        return { exitCode: 0, stdout: 'Successfully joined the MicroCloud cluster and closing the session.\n', stderr: '' };
      // Killing the client ends the session in its daemon (api/session.go: the gateway's context ends with the websocket).
      if (signal?.aborted) return cancelled();
      // Never told that the session failed: a joiner that reached out waits for its session timeout (issue 597);
      // one that found no session gives up after its lookup (handleJoiningSession: "Lookup timeout exceeded").
      if (reached && this.now() > started + limits.sessionMs) return fail(JOINER_TIMED_OUT);
      if (!reached && this.now() > started + limits.lookupMs)
        return fail('Error: Failed to find an eligible system: Failed to lookup eligible system: Lookup timeout exceeded');
      await this.tick();
    }
  }

  /** Whether a machine has reached out under `name` to an add session that is still open (for tests that must act right after). */
  hasReachedOut(name: string): boolean {
    return [...this.sessions.values()].some((s) => s.state === 'open' && s.arrived.has(name));
  }

  /** The initiator's power goes: its sessions end without it, and nobody tells their joiners. */
  cutPower(node: string): void {
    for (const s of this.sessions.values()) if (s.initiator === node && (s.state === 'open' || s.state === 'adding')) s.state = 'failed';
    if (node === this.initiator && !this.formed) this.formationFailed = true;
    for (const daemon of this.inSession) if (daemon.split('\n')[0] === node) this.inSession.delete(daemon);
  }

  remove(name: string): boolean {
    if (!this.members.includes(name)) return false;
    this.members = this.members.filter((m) => m !== name);
    this.memberIntents.delete(name);
    this.offline.delete(name);
    this.removed.push(name);
    return true;
  }
}

/**
 * What a joiner's `microcloud preseed` prints when its session times out: the daemon closes the
 * websocket without a message (client/websocket.go: Write returns once the session's context has
 * ended), so the client reads an abnormal closure. Inferred from the code, not seen in a log.
 */
const JOINER_TIMED_OUT = 'Error: Failed to read join confirmation: websocket: close 1006 (abnormal closure): unexpected EOF';

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

/** One assertion's single-line headers, from an assertion stream (what `snap ack` reads). */
function streamAssertions(text: string): Map<string, string>[] {
  return text.split(/\n\n(?=type: )/).map((a) => new Map(a.split('\n\n')[0]!.split('\n')
    .map((l) => /^([a-z0-9-]+): (.*)$/.exec(l)).filter((m): m is RegExpExecArray => !!m).map((m) => [m[1]!, m[2]!])));
}

export class FakeHost {
  readonly calls: Call[] = [];
  readonly hardware: FakeHardware;
  /** Installed snaps and the channel each tracks ('-' after a file install, until `snap switch`). */
  readonly snaps = new Map<string, string>();
  /** Installed revisions (a store install gets 100). */
  readonly revisions = new Map<string, number>();
  /** `snap ack` of each file, in order; and `snap install FILE` of each file that installed, in order. */
  readonly acked: string[] = [];
  readonly installedFiles: string[] = [];
  /** What the acked snap-revision assertions vouch for, by snap-sha3-384 (base64url); and snap-id -> name from snap-declarations. */
  private readonly vouched = new Map<string, { snapId: string; revision: number }>();
  private readonly declared = new Map<string, string>();
  held = false;
  initialised = false;
  /** Failures to inject: the next N `snap install` calls fail with a store error. */
  storeErrors = 0;
  preseedError?: string;
  timeSynced = true;
  /**
   * USB sticks: a device path -> the real folder `mount DEV DIR` shows at DIR (a symbolic link in
   * place of the mount point), and each mount with its options, in order. Add the stick's disk to
   * hardware.disks too, as lsblk would list it.
   */
  readonly sticks = new Map<string, string>();
  readonly mounts: { device: string; type: string; options: string; at: string }[] = [];
  /** Mount points mounted now. */
  readonly mounted = new Set<string>();
  /** Each time `date -s @SECONDS` set the clock (ms), in order; `onSetClock` lets a test move its clock with it. */
  readonly clockSetTo: number[] = [];
  onSetClock?: (ms: number) => void;
  /** What timesyncd says it is asking (`timedatectl show-timesync`). */
  timeServer = { name: '10.0.0.1', address: '10.0.0.1' };
  /** What `cloud-init status --wait --long` answers: 2 (degraded) as on Ubuntu with deprecations. */
  cloudInit: Ran = { exitCode: 2, stdout: 'status: done\n', stderr: 'deprecated key' };

  /**
   * The MicroCloud daemon's server certificate: made when the snap is installed (its daemon's first
   * start), gone with `snap remove --purge`. Written to `files` when given, where the node reads it.
   */
  certificate?: string;
  files?: FileAccess;

  constructor(readonly node: string, readonly address: string, readonly cloud: FakeMicroCloud) {
    this.hardware = piHardware(address);
  }

  /** A stand-in certificate: PEM around random bytes (nothing here parses X.509; the fingerprint is the SHA-256 of the bytes). */
  private async newCertificate(): Promise<void> {
    const der = randomBytes(96).toString('base64').replace(/(.{64})/g, '$1\n').trim();
    this.certificate = `-----BEGIN CERTIFICATE-----\n${der}\n-----END CERTIFICATE-----\n`;
    await this.files?.write(MICROCLOUD_SERVER_CERT, this.certificate, 0o644);
  }

  /**
   * `snap ack FILE`: canonical/snapd cmd/snap/cmd_ack.go reads the file (os.ReadFile) and wraps any
   * error as "cannot assert: %v". Signatures are not checked here (the bundles' are dummies).
   */
  private ack(path: string): Ran {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return { exitCode: 1, stdout: '', stderr: `error: cannot assert: open ${path}: no such file or directory` };
    }
    for (const headers of streamAssertions(text)) {
      if (headers.get('type') === 'snap-declaration') this.declared.set(headers.get('snap-id')!, headers.get('snap-name')!);
      if (headers.get('type') === 'snap-revision')
        this.vouched.set(headers.get('snap-sha3-384')!, { snapId: headers.get('snap-id')!, revision: Number(headers.get('snap-revision')) });
    }
    this.acked.push(path);
    return { exitCode: 0, stdout: '', stderr: '' };
  }

  /**
   * `snap install PATH.snap` without --dangerous: snapd finds the snap-revision assertion by the
   * file's SHA3-384 (overlord/snapstate DeriveSideInfo) or refuses as daemon/api_sideload_n_try.go
   * does: "cannot find signatures with metadata for snap %q". The snap is named by its declaration.
   */
  private async installFile(path: string, dangerous: boolean): Promise<Ran> {
    if (dangerous) return { exitCode: 1, stdout: '', stderr: 'fake-host: --dangerous is never used by microcloud-pi' };
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      return { exitCode: 1, stdout: '', stderr: `error: cannot open "${path}": open ${path}: no such file or directory` };
    }
    const revision = this.vouched.get(createHash('sha3-384').update(bytes).digest('base64url'));
    const name = revision && this.declared.get(revision.snapId);
    if (!revision || !name) return { exitCode: 1, stdout: '', stderr: `error: cannot find signatures with metadata for snap "${path}"` };
    this.snaps.set(name, this.snaps.get(name) ?? '-'); // a file install tracks no channel (daemon/api_sideload_n_try.go)
    this.revisions.set(name, revision.revision);
    this.installedFiles.push(path);
    if (name === 'microcloud') await this.newCertificate();
    return { exitCode: 0, stdout: `${name} ${revision.revision} from Canonical✓ installed\n`, stderr: '' };
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
    if (file === 'mkdir' && args[0] === '-p' && args.length === 2) {
      mkdirSync(args[1]!, { recursive: true });
      return ok();
    }
    if (file === 'mount' && args[0] === '-t' && args[2] === '-o' && args.length === 6) {
      const [, type, , options, device, at] = args as [string, string, string, string, string, string];
      const folder = this.sticks.get(device);
      if (!folder) return fail(`mount: ${at}: special device ${device} does not exist.\n`, 32); // util-linux: exit 32, mount failure
      if (this.mounted.has(at)) return fail(`mount: ${at}: ${device} already mounted or mount point busy.\n`, 32);
      rmSync(at, { recursive: true, force: true });
      symlinkSync(folder, at);
      this.mounts.push({ device, type, options, at });
      this.mounted.add(at);
      return ok();
    }
    if (file === 'umount' && args.length === 1) {
      if (!this.mounted.delete(args[0]!)) return fail(`umount: ${args[0]}: not mounted.\n`, 32);
      rmSync(args[0]!, { force: true });
      mkdirSync(args[0]!);
      return ok();
    }
    if (file === 'date' && args[0] === '-s' && args.length === 2) {
      // GNU date: "@" and seconds since the epoch, a fraction allowed; anything else it cannot parse fails, the clock untouched.
      const at = /^@(\d+(?:\.\d+)?)$/.exec(args[1]!);
      if (!at) return fail(`date: invalid date '${args[1]}'\n`);
      const ms = Math.round(Number(at[1]) * 1000);
      this.clockSetTo.push(ms);
      this.onSetClock?.(ms);
      return ok(`${new Date(ms).toUTCString()}\n`);
    }
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
    if (file === 'lsblk' && args.join(' ').startsWith('-J -b -p -o ')) {
      // What this host mounted (a stick) shows at its mount point, as lsblk reads it from the kernel.
      const mountedAt = new Map(this.mounts.filter((m) => this.mounted.has(m.at)).map((m) => [m.device, m.at]));
      const withMounts = (d: Record<string, unknown>): Record<string, unknown> => ({ ...d,
        ...(mountedAt.has(String(d.name)) ? { mountpoints: [mountedAt.get(String(d.name))] } : {}),
        ...(Array.isArray(d.children) ? { children: (d.children as Record<string, unknown>[]).map(withMounts) } : {}) });
      return ok(JSON.stringify({ blockdevices: this.hardware.disks.map(withMounts) }));
    }
    if (cmd === 'snap version') return ok(`snap    ${this.hardware.snapd}\nsnapd   ${this.hardware.snapd}\nseries  16\n`);
    if (cmd === 'snap connections microceph') return ok(`Interface  Plug  Slot  Notes\n`
      + `dm-crypt  microceph:dm-crypt  ${this.hardware.dmCryptConnected ? ':dm-crypt' : '-'}  -\n`);
    if (cmd === 'snap connect microceph:dm-crypt') { this.hardware.dmCryptConnected = true; return ok(); }
    if (cmd === 'snap restart microceph.daemon') return ok('Restarted.\n');
    if (cmd === 'snap wait system seed.loaded') return ok();
    if (file === 'snap' && args[0] === 'list') {
      const channel = this.snaps.get(args[1]!);
      return channel ? ok(`Name  Version  Rev  Tracking  Publisher  Notes\n${args[1]}  1.0  ${this.revisions.get(args[1]!) ?? 100}  ${channel}  canonical✓  -\n`)
        : fail(`error: no matching snaps installed`);
    }
    if (file === 'snap' && args[0] === 'ack') return this.ack(args[1]!);
    if (file === 'snap' && args[0] === 'install' && args[1]?.startsWith('/')) return this.installFile(args[1], args.includes('--dangerous'));
    if (file === 'snap' && args[0] === 'switch') {
      // canonical/snapd cmd/snap/cmd_snap_op.go cmdSwitch: changes what the snap tracks, no refresh; prints "%q switched to the %q channel".
      const channel = args.find((a) => a.startsWith('--channel='))?.slice('--channel='.length);
      if (!channel) return fail('error: missing --channel=<channel-name> parameter');
      if (!this.snaps.has(args[1]!)) return fail(`error: snap "${args[1]}" is not installed`);
      this.snaps.set(args[1]!, channel);
      return ok(`"${args[1]}" switched to the "${channel}" channel\n`);
    }
    if (file === 'snap' && (args[0] === 'install' || args[0] === 'refresh') && args[1] !== '--hold') {
      if (args[0] === 'install' && this.snaps.has(args[1]!)) return fail(`snap "${args[1]}" is already installed`);
      if (this.storeErrors > 0) {
        this.storeErrors--;
        return fail(`error: cannot ${args[0]} "${args[1]}": Post https://api.snapcraft.io/v2/snaps/refresh: dial tcp: lookup api.snapcraft.io: Temporary failure in name resolution`);
      }
      this.snaps.set(args[1]!, args.find((a) => a.startsWith('--channel='))!.slice('--channel='.length));
      if (args[0] === 'install' && args[1] === 'microcloud') await this.newCertificate();
      return ok(`${args[1]} (${this.snaps.get(args[1]!)}) 1.0 from Canonical✓ installed\n`);
    }
    if (file === 'snap' && args[0] === 'remove' && args[1] === '--purge') {
      this.snaps.delete(args[2]!);
      if (args[2] === 'microcloud') {
        this.initialised = false;
        this.certificate = undefined;
        await this.files?.remove(MICROCLOUD_SERVER_CERT);
      }
      return ok(`${args[2]} removed\n`);
    }
    if (file === 'snap' && args[0] === 'refresh' && args[1] === '--hold') {
      this.held = true;
      return ok(`General refreshes of ${args.slice(2).map((s) => `"${s}"`).join(', ')} held indefinitely\n`);
    }
    if (cmd === 'microcloud cluster list --format json') {
      if (this.cloud.listDelayMs) await new Promise((r) => setTimeout(r, this.cloud.listDelayMs));
      return this.initialised ? ok(JSON.stringify(this.cloud.members.map((name) => ({
        name, address: `${this.cloud.memberIntents.get(name)?.address || this.addressOf(name)}:9443`,
        ...(this.cloud.memberIntents.get(name)?.certificate ? { certificate: this.cloud.memberIntents.get(name)!.certificate } : {}), role: 'voter',
        status: this.cloud.states.get(name) ?? (this.cloud.offline.has(name) ? 'UNREACHABLE' : 'ONLINE') }))))
        : fail('Error: Daemon not yet initialized');
    }
    if (cmd === 'microcloud preseed') {
      if (this.preseedError) return fail(`Error: ${this.preseedError}`);
      if (!options.input?.includes('session_passphrase')) return fail('Error: No systems given');
      const result = await this.cloud.preseed(this.node, options.input, this.initialised, options.signal,
        { address: this.address, ...(this.certificate ? { certificate: this.certificate } : {}) });
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
