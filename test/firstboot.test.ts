// The first-boot service against test doubles of the Pi's tools (test/doubles/fake-host.ts):
// the happy path, retries, power cuts after every state-changing call, a corrupt journal, a peer
// that never comes, a failed preseed, and three nodes forming a cluster over real HTTP.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT, firstBoot } from '../firstboot/first-boot.js';
import type { CommandRunner } from '../builder/command-runner.js';
import type { NodeStatus, ServiceInfo } from '../firstboot/run/types.js';
import { DONE_MARKER, MOTD } from '../firstboot/steps/finish.js';
import { readStatus } from '../firstboot/status/read-status.js';
import { deriveJoinKey } from '../firstboot/join/join-auth.js';
import { FakeMicroCloud } from './doubles/fake-host.js';
import { TEST_PASSPHRASE } from './helpers/examples.js';
import { boot, CLOUD_INIT_COPIES, cluster, commands, fastClock, quietLog, rig } from './helpers/first-boot-rig.js';

describe('first boot on one node', () => {
  it('walks every step to done: snaps at their channels, held, one preseed, verified, secret removed', async () => {
    const r = await rig('pi1');
    const result = await boot(r);
    expect(result.exitCode).toBe(EXIT.done);
    expect(result.status()).toMatchObject({ node: 'pi1', step: 'done', state: 'done' });
    const cmds = commands(r.host);
    expect(cmds.filter((c) => c.startsWith('snap install'))).toEqual([
      'snap install lxd --channel=5.21/stable --cohort=+', 'snap install microceph --channel=squid/stable --cohort=+',
      'snap install microovn --channel=24.03/stable --cohort=+', 'snap install microcloud --channel=2/stable --cohort=+']);
    expect(cmds).toContain('snap refresh --hold lxd microceph microovn microcloud');
    // What cloud-init wrote is on disk before anything changes state.
    expect(cmds.indexOf('sync ')).toBe(cmds.indexOf('cloud-init status --wait --long') + 1);
    expect(cmds.filter((c) => c === 'microcloud preseed')).toHaveLength(1);
    expect(r.host.calls.find((c) => c.file === 'microcloud' && c.args[0] === 'preseed')!.input).toContain(TEST_PASSPHRASE);
    expect(await r.files.read(r.config.preseedPath)).toBeUndefined();
    for (const copy of Object.keys(CLOUD_INIT_COPIES)) expect(await r.files.read(copy)).not.toContain(TEST_PASSPHRASE);
    // Overwritten in place, byte for byte: the seed still parses as the same YAML shape on the next boot.
    expect(await r.files.read('/boot/firmware/user-data')).toContain(`session_passphrase: "${'x'.repeat(TEST_PASSPHRASE.length)}"`);
    expect(await r.files.read(MOTD)).toMatch(/pi1 is a member of the MicroCloud "loop"/);
    expect(await r.files.read(DONE_MARKER)).toBeDefined();
    expect(Object.keys(JSON.parse(await readFile(r.journalPath, 'utf8')).done))
      .toEqual(['wait-ready', 'scrub-secret', 'install-snaps', 'preflight', 'wait-peers', 'preseed', 'verify', 'finish']);
  });

  it('retries snap store errors with backoff', async () => {
    const r = await rig('pi1');
    r.host.storeErrors = 2;
    expect((await boot(r)).exitCode).toBe(EXIT.done);
    expect(commands(r.host).filter((c) => c.startsWith('snap install lxd'))).toHaveLength(3);
  });

  it('gives up on a store that stays down with exit 75, saying so', async () => {
    const r = await rig('pi1');
    r.host.storeErrors = 100;
    const result = await boot(r);
    expect(result.exitCode).toBe(EXIT.tempfail);
    expect(result.status()).toMatchObject({ step: 'install-snaps', state: 'failed' });
    expect(result.status().lastError).toMatch(/snap install lxd failed 5 times: .*name resolution/);
  });

  it('does nothing but report done on a later boot (and check the clock before it opens its join desk)', async () => {
    const r = await rig('pi1');
    await boot(r);
    const before = r.host.calls.length;
    const again = await boot(r);
    expect(again.exitCode).toBe(EXIT.done);
    expect(commands(r.host).slice(before)).toEqual(['timedatectl show --property=NTPSynchronized --value']);
  });

  it('says which process answers, on the boot that forms the cluster and on later ones', async () => {
    const r = await rig('pi1');
    const service = (bootId: string): ServiceInfo => ({ runtime: '/usr/lib/microcloud-pi/node', nodeVersion: 'v22.0.0', underSystemd: true, bootId });
    expect((await boot(r, { service: service('boot-1') })).status()).toMatchObject({ step: 'done', service: service('boot-1') });
    expect((await boot(r, { service: service('boot-2') })).status()).toMatchObject({ step: 'done', service: service('boot-2') });
    expect((await boot(await rig('pi1'))).status().service).toBeUndefined();
  });

  it('goes on after a cloud-init module error, logging what cloud-init said', async () => {
    const r = await rig('pi1');
    r.host.cloudInit = { exitCode: 1, stderr: '', stdout: "status: error\ntime: Sun, 22 Nov 2026\ndetail:\n('locale', ProcessExecutionError('update-locale'))\n" };
    const result = await boot(r);
    expect(result.status()).toMatchObject({ step: 'done', state: 'done' });
    expect(r.log.join('\n')).toContain("cloud-init finished with errors, going on (see /var/log/cloud-init.log): detail: ('locale', ProcessExecutionError('update-locale'))");
  });

  it('retries with exit 75 when cloud-init never finishes', async () => {
    const r = await rig('pi1');
    r.host.cloudInit = { exitCode: undefined, stdout: '', stderr: '', timedOut: true };
    const result = await boot(r);
    expect(result.exitCode).toBe(EXIT.tempfail);
    expect(result.status()).toMatchObject({ step: 'wait-ready', state: 'failed', lastError: expect.stringMatching(/cloud-init did not finish \(timed out\)/) });
  });

  it('without NTP, a node that is not the initiator waits for the initiator\'s time, then fails with exit 75 if none comes', async () => {
    const r = await rig('pi2', cluster(3));
    r.host.timeSynced = false;
    r.host.timeServer = { name: '0.debian.pool.ntp.org', address: '' }; // the fallback: network.ntp not in use
    const result = await boot(r);
    expect(result.exitCode).toBe(EXIT.tempfail);
    expect(result.status()).toMatchObject({
      detail: 'waiting for the clock: no NTP server answers (NTP, asking 0.debian.pool.ntp.org); asking pi1 for the time' });
    expect(result.status().lastError).toMatch(/clock is not settled: no NTP server answered \(network\.ntp\) and no time came from pi1 \(the initiator\)/);
    expect(r.host.clockSetTo).toEqual([]);
  });

  it('without NTP, the initiator takes its own clock after the grace, says so on its status, and forms', async () => {
    const r = await rig('pi1');
    r.host.timeSynced = false;
    const result = await boot(r);
    expect(result.exitCode).toBe(EXIT.done);
    expect(result.status().clock).toEqual({ source: 'own' }); // the status endpoint adds the time of each answer
    expect(r.log.join('\n')).toMatch(/this node's own clock \(.*\) is the cluster's until NTP arrives/);
  });
});

describe('power cut after any state-changing call', () => {
  const MUTATING = /^snap (install|refresh)|^microcloud preseed/;

  it('converges on the next boot without repeating a destructive call', async () => {
    // Count the cut points in a clean run first.
    const probe = await rig('pi1');
    let fileChanges = 0;
    const [write, remove, overwrite] = [probe.files.write.bind(probe.files), probe.files.remove.bind(probe.files), probe.files.overwrite.bind(probe.files)];
    probe.files.write = async (p, c, m) => { fileChanges++; await write(p, c, m); };
    probe.files.remove = async (p) => { fileChanges++; await remove(p); };
    probe.files.overwrite = async (p, c) => { fileChanges++; await overwrite(p, c); };
    await boot(probe);
    const cutPoints = commands(probe.host).filter((c) => MUTATING.test(c)).length + fileChanges;
    // 4 installs, hold, preseed, 6 scrubbed copies of user-data, join key, preseed removal, motd, done
    expect(cutPoints).toBeGreaterThanOrEqual(16);
    for (let k = 1; k <= cutPoints; k++) {
      const r = await rig('pi1');
      let seen = 0;
      class PowerCut extends Error {}
      const cut = () => { if (++seen === k) throw new PowerCut(`power cut after call ${k}`); };
      const cuttingRun: CommandRunner = async (file, args, options) => {
        const ran = await r.host.run(file, args, options);
        if (MUTATING.test(`${file} ${args.join(' ')}`)) cut();
        return ran;
      };
      const realWrite = r.files.write.bind(r.files);
      const realRemove = r.files.remove.bind(r.files);
      const realOverwrite = r.files.overwrite.bind(r.files);
      r.files.write = async (p, c, m) => { await realWrite(p, c, m); cut(); };
      r.files.remove = async (p) => { await realRemove(p); cut(); };
      r.files.overwrite = async (p, c) => { await realOverwrite(p, c); cut(); };
      const first = await boot(r, { run: cuttingRun });
      expect([EXIT.internal, EXIT.done]).toContain(first.exitCode);
      r.files.write = realWrite;
      r.files.remove = realRemove;
      r.files.overwrite = realOverwrite;
      const second = await boot(r);
      expect(second.exitCode).toBe(EXIT.done);
      const cmds = commands(r.host);
      expect(cmds.filter((c) => c === 'microcloud preseed')).toHaveLength(1);
      for (const snap of ['lxd', 'microceph', 'microovn', 'microcloud'])
        expect(cmds.filter((c) => c.startsWith(`snap install ${snap} `))).toHaveLength(1);
      expect(await r.files.read(r.config.preseedPath)).toBeUndefined();
      expect(await r.files.read(DONE_MARKER)).toBeDefined();
      for (const [path, { content }] of r.files.files) expect([k, path, content.includes(TEST_PASSPHRASE)]).toEqual([k, path, false]);
    }
  });

  it('waits for cloud-init, the address and the clock again on the boot that resumes', async () => {
    const r = await rig('pi1');
    class PowerCut extends Error {}
    const cutAfterFirstInstall: CommandRunner = async (file, args, options) => {
      const ran = await r.host.run(file, args, options);
      if (file === 'snap' && args[0] === 'install') throw new PowerCut('power cut');
      return ran;
    };
    expect((await boot(r, { run: cutAfterFirstInstall })).exitCode).toBe(EXIT.internal);
    // No RTC on a Pi: after the cut the clock restarts from the last saved time, and no NTP answers: the initiator takes its own.
    r.host.timeSynced = false;
    const before = r.host.calls.length;
    const resumed = await boot(r);
    expect(resumed.exitCode).toBe(EXIT.done);
    expect(resumed.status().clock?.source).toBe('own');
    const resumedCalls = commands(r.host).slice(before);
    expect(resumedCalls[0]).toBe('cloud-init status --wait --long');
    expect(commands(r.host).filter((c) => c.startsWith('snap install lxd '))).toHaveLength(1);
  });

  it('treats a corrupt journal as empty, keeps it aside, and still runs the preseed only once', async () => {
    const r = await rig('pi1');
    await boot(r);
    await r.files.remove(DONE_MARKER);
    await writeFile(r.journalPath, '{"version": 1, "done": {"wait-re');
    const result = await boot(r);
    expect(result.exitCode).toBe(EXIT.done);
    expect(r.log.join('\n')).toMatch(/journal\.json was unreadable; kept as \.corrupt/);
    expect(await readdir(join(r.journalPath, '..'))).toContain('journal.json.corrupt');
    expect(commands(r.host).filter((c) => c === 'microcloud preseed')).toHaveLength(1);
  });
});

describe('failures end in a clear reported state', () => {
  it('a peer that never comes: exit 75, naming it', async () => {
    const r = await rig('pi1', cluster(2));
    const result = await boot(r, { clock: fastClock(20_000) });
    expect(result.exitCode).toBe(EXIT.tempfail);
    expect(result.status()).toMatchObject({ step: 'wait-peers', state: 'failed' });
    expect(result.status().lastError).toMatch(/waiting for pi2: not ready after 60 min/);
    expect(commands(r.host)).not.toContain('microcloud preseed');
  });

  it('a preseed that fails before anything formed: exit 75 to retry, no secret in status or logs', async () => {
    const r = await rig('pi1');
    r.host.preseedError = `Wrong passphrase ${TEST_PASSPHRASE}`;
    const result = await boot(r);
    expect(result.exitCode).toBe(EXIT.tempfail);
    expect(result.status().lastError).toMatch(/microcloud preseed failed \(Error: Wrong passphrase \*\*\*\)/);
    expect(JSON.stringify(result.status()) + r.log.join('\n')).not.toContain(TEST_PASSPHRASE);
  });

  it('a preseed that fails after the cluster partly formed: exit 78, no retry, shown at login', async () => {
    const r = await rig('pi1');
    const partly: CommandRunner = async (file, args, options) => {
      if (file === 'microcloud' && args[0] === 'preseed') {
        r.host.initialised = true;
        return { exitCode: 1, stdout: '', stderr: 'Error: Failed to join cluster: timeout' };
      }
      return r.host.run(file, args, options);
    };
    const result = await boot(r, { run: partly });
    expect(result.exitCode).toBe(EXIT.config);
    expect(await r.files.read(MOTD)).toMatch(/STOPPED at step preseed:.*partly formed/s);
  });
});

describe('three nodes forming a cluster over real HTTP on loopback', () => {
  it.each(['multicast', 'unicast'] as const)('%s: nodes starting in any order, one late, all reach done', async (discovery) => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const c = cluster(3, { discovery, port });
    const cloud = new FakeMicroCloud(['pi1', 'pi2', 'pi3'], 'pi1', 20_000);
    const rigs = await Promise.all(['pi1', 'pi2', 'pi3'].map((n) => rig(n, c, cloud)));
    const delays: Record<string, number> = { pi3: 0, pi1: 200, pi2: 1500 }; // pi2 arrives late
    const results = await Promise.all(rigs.map(async (r) => {
      await new Promise((resolve) => setTimeout(resolve, delays[r.config.node]));
      return boot(r, { readPeer: readStatus });
    }));
    expect(results.map((x) => x.exitCode)).toEqual([EXIT.done, EXIT.done, EXIT.done]);
    expect(cloud.formed).toBe(true);
    for (const r of rigs) expect(commands(r.host).filter((x) => x === 'microcloud preseed')).toHaveLength(1);
  }, 60_000);

  it('a site without NTP: the others take the initiator\'s time from its signed status, and the three form on it', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const c = cluster(3, { port });
    const cloud = new FakeMicroCloud(['pi1', 'pi2', 'pi3'], 'pi1', 20_000);
    const rigs = await Promise.all(['pi1', 'pi2', 'pi3'].map((n) => rig(n, c, cloud)));
    const base = fastClock();
    // pi2 and pi3 start an hour and a day behind (no RTC); `date -s` on their host moves their clock.
    const clocks = rigs.map((r, i) => {
      let offset = [0, -3_600_000, -86_400_000][i]!;
      const clock = { now: () => base.now() + offset, sleep: base.sleep };
      r.host.timeSynced = false;
      r.host.onSetClock = (ms) => { offset += ms - clock.now(); };
      return clock;
    });
    const results = await Promise.all(rigs.map((r, i) => boot(r, { readPeer: readStatus, clock: clocks[i]! })));
    expect(results.map((x) => x.status().lastError ?? '')).toEqual(['', '', '']);
    expect(results.map((x) => x.exitCode)).toEqual([EXIT.done, EXIT.done, EXIT.done]);
    expect(results.map((x) => x.status().clock?.source)).toEqual(['own', 'initiator', 'initiator']);
    expect(rigs.map((r) => r.host.clockSetTo.length)).toEqual([0, 1, 1]);
    // Agreed to well under a second of model time (the clock runs 500x: a millisecond of HTTP is half a model second).
    for (const clock of clocks.slice(1)) expect(Math.abs(clock.now() - clocks[0]!.now())).toBeLessThan(5000);
  }, 60_000);

  it('the initiator dies during the formation: the others stop their preseed within minutes, not MicroCloud\'s hour, and retry', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const c = cluster(3, { port });
    const clock = fastClock();
    // As strict as MicroCloud: a joiner is never told that the initiator died; it would wait for session_timeout (3600 s).
    const cloud = new FakeMicroCloud(['pi1', 'pi2', 'pi3'], 'pi1', 20_000, { clock });
    const rigs = await Promise.all(['pi1', 'pi2', 'pi3'].map((n) => rig(n, c, cloud)));
    const dies: CommandRunner = async (file, args, options) => {
      if (file === 'microcloud' && args[0] === 'preseed') {
        while (!cloud.arrived.has('pi2') || !cloud.arrived.has('pi3')) await clock.sleep(1000); // the others reach out first
        cloud.cutPower('pi1');
        throw new Error('power cut');
      }
      return rigs[0]!.host.run(file, args, options);
    };
    const started = clock.now();
    const [, pi2, pi3] = await Promise.all(rigs.map((r, i) => boot(r, { readPeer: readStatus, clock, ...(i === 0 ? { run: dies } : {}) })));
    for (const r of [pi2!, pi3!]) {
      expect(r.exitCode).toBe(EXIT.tempfail);
      expect(r.status().lastError).toMatch(/microcloud preseed failed \(stopped: the initiator pi1 (stopped answering|failed: .*)\); it will be retried/);
    }
    // Well under MicroCloud's hour: the clock runs 500x the wall clock, so a busy machine's second of scheduling is eight model minutes.
    expect(clock.now() - started).toBeLessThan(30 * 60_000);
  }, 60_000);

  it('serves a status with no secret in it', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const r = await rig('pi1', cluster(2, { port }));
    const seen: (NodeStatus | undefined)[] = [];
    const result = firstBoot({
      config: r.config, run: r.host.run, log: quietLog(), clock: fastClock(20_000), files: r.files, journalPath: r.journalPath,
      readPeer: async () => { seen.push(await readStatus(r.config.address, port)); return undefined; }, listenHost: r.config.address,
      sendJoin: async () => undefined,
    });
    const done = await result;
    await done.server?.close();
    const during = seen.find((s) => s?.state === 'waiting');
    expect(during).toMatchObject({ node: 'pi1', step: 'wait-peers', state: 'waiting', detail: 'waiting for pi2' });
    expect(JSON.stringify(seen)).not.toContain(TEST_PASSPHRASE);
  });

  it('answers status before it has derived the join key (scrypt takes up to a second on a Pi), signed once it has', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const r = await rig('pi1', cluster(2, { port }));
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    const read = r.files.read.bind(r.files);
    r.files.read = async (path: string) => { if (path === r.config.preseedPath) await held; return read(path); }; // the key comes from the preseed
    const result = firstBoot({
      config: r.config, run: r.host.run, log: quietLog(), clock: fastClock(20_000), files: r.files, journalPath: r.journalPath,
      readPeer: async () => undefined, listenHost: r.config.address, sendJoin: async () => undefined,
    });
    let early: NodeStatus | undefined;
    for (let i = 0; i < 100 && !early; i++) {
      early = await readStatus(r.config.address, port);
      if (!early) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(early).toMatchObject({ node: 'pi1', step: 'wait-ready' });
    const key = await deriveJoinKey(TEST_PASSPHRASE, r.config.cluster);
    expect(await readStatus(r.config.address, port, key)).toBeUndefined(); // not signed yet: a peer takes it as no answer
    release();
    let signed: NodeStatus | undefined;
    for (let i = 0; i < 100 && !signed; i++) {
      signed = await readStatus(r.config.address, port, key);
      if (!signed) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(signed?.node).toBe('pi1');
    await (await result).server?.close();
  });
});
