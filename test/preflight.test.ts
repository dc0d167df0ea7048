// Preflight: a node checks, before the preseed (the step that cannot be undone), that it has what
// its part of the preseed needs, against TEST DOUBLES of a Pi's tools (test/doubles/fake-host.ts),
// and no node forms the cluster until every node has passed.
import { stringify } from 'yaml';
import type { Cluster } from '../builder/config/types.js';
import { EXIT } from '../firstboot/first-boot.js';
import { MOTD } from '../firstboot/steps/finish.js';
import { readStatus } from '../firstboot/status/read-status.js';
import { moduleNames, parseLsblk, versionAtLeast } from '../firstboot/preflight/node-facts.js';
import { FakeMicroCloud } from './doubles/fake-host.js';
import { clusterFromText } from './helpers/examples.js';
import { boot, commands, fastClock, KEY, rig, type NodeRig } from './helpers/first-boot-rig.js';

const USB = '/dev/disk/by-id/usb-Samsung_SSD-0:0';

function cluster(node: Record<string, unknown> | ((i: number) => Record<string, unknown>), extra: Record<string, unknown> = {}, nodes = 3, port = 9180): Cluster {
  return clusterFromText(stringify({
    cluster: { name: 'shelf', domain: 'shelf.internal' },
    admin: { user: 'ops', ssh_keys: [KEY] },
    network: { subnet: '127.0.0.0/24', gateway: '127.0.0.1', dns: ['127.0.0.1'] },
    nodes: Array.from({ length: nodes }, (_, i) => ({ name: `pi${i + 1}`, address: `127.0.0.${11 + i}`, ...(typeof node === 'function' ? node(i) : node) })),
    microcloud: {
      status_port: port,
      ...((typeof node === 'function' ? node(0) : node).uplink ? { ovn: { ipv4_gateway: '192.168.9.1/24', ipv4_range: '192.168.9.100-192.168.9.150', dns_servers: ['192.168.9.1'] } } : {}),
    },
    ...extra,
  }));
}

const CEPH_NODE = { uplink: { interface: 'eth1' }, disks: { ceph: [USB] } };

async function preflightOf(c: Cluster, change: (r: NodeRig) => void = () => {}) {
  const r = await rig('pi1', c);
  change(r);
  const result = await boot(r, { clock: fastClock(200_000) }); // its peers never come: it stops at wait-peers after passing
  return { r, result, status: result.status(), cmds: commands(r.host) };
}

describe('preflight on one node', () => {
  it('passes on a Pi that has what its preseed needs, then waits for its peers', async () => {
    const { status, cmds } = await preflightOf(cluster(CEPH_NODE));
    expect(status).toMatchObject({ step: 'wait-peers', preflight: { passed: true, problems: [], warnings: [] } });
    expect(cmds).toContain('lsblk -J -b -p -o NAME,KNAME,TYPE,SIZE,RO,RM,ROTA,MODEL,SERIAL,WWN,TRAN,MAJ:MIN,LOG-SEC,REV,MOUNTPOINTS,FSTYPE,PTTYPE');
    expect(cmds).toContain(`readlink -e -- ${USB}`);
    expect(cmds).not.toContain('snap connect microceph:dm-crypt'); // nothing encrypted
  });

  it.each<[string, Record<string, unknown> | ((i: number) => Record<string, unknown>), (r: NodeRig) => void, RegExp[]]>([
    ['a USB uplink adapter that udev named enx…', CEPH_NODE, (r) => { r.host.hardware.nics[1]!.name = 'enx00e04c680001'; }, [
      /The uplink NIC eth1 does not exist\. This node has: eth0 \(MAC dc:a6:32:00:00:01, driver bcmgenet, 127\.0\.0\.11\); enx00e04c680001 \(MAC 00:e0:4c:68:00:01, driver r8152\)/,
      /Set the node's uplink\.mac in the cluster file/]],
    ['an uplink by MAC that no NIC has', (i) => ({ ...CEPH_NODE, uplink: { mac: `00:11:22:33:44:5${i}` } }), () => {}, [
      /does not exist, and no NIC has MAC 00:11:22:33:44:50/]],
    ['an uplink by MAC whose NIC kept another name', (i) => ({ ...CEPH_NODE, uplink: { mac: `00:e0:4c:68:00:0${i + 1}` } }),
      (r) => { r.host.hardware.nics[1]!.name = 'enx00e04c680001'; }, [
        /The uplink NIC with MAC 00:e0:4c:68:00:01 is named enx00e04c680001, not uplink0: the rename in this node's network-config did not apply/,
        /set the node's uplink\.interface to enx00e04c680001 instead of uplink\.mac/]],
    ['an uplink that DHCP gave an address', CEPH_NODE, (r) => { r.host.hardware.nics[1]!.addresses = ['192.168.1.50']; }, [
      /The uplink eth1 has the address 192\.168\.1\.50; MicroCloud gives OVN only a NIC without one/]],
    ['an uplink that is down', CEPH_NODE, (r) => { r.host.hardware.nics[1]!.up = false; }, [/The uplink eth1 is down/]],
    ['the intra address on another NIC', CEPH_NODE, (r) => {
      r.host.hardware.nics[0]!.addresses = []; r.host.hardware.nics[1]!.addresses = ['127.0.0.11'];
    }, [/The intra-cluster address 127\.0\.0\.11 is on eth1, not on eth0/]],
    ['a Ceph disk that is not plugged in', CEPH_NODE, (r) => { r.host.hardware.links = {}; }, [
      /The ceph disk \/dev\/disk\/by-id\/usb-Samsung_SSD-0:0 does not exist\. This node's disks: \/dev\/mmcblk0 \(32 GiB\); \/dev\/sda \(128 GiB usb Samsung SSD\)/]],
    ['a Ceph disk that holds a partition table', CEPH_NODE, (r) => { r.host.hardware.disks[1]!.pttype = 'gpt'; }, [
      /holds a gpt partition table\. Set wipe: true/]],
    ['a Ceph disk that is the boot disk', { ...CEPH_NODE, disks: { ceph: ['/dev/mmcblk0'] } }, (r) => { r.host.hardware.links['/dev/mmcblk0'] = '/dev/mmcblk0'; }, [
      /\/dev\/mmcblk0 \(\/dev\/mmcblk0\) is mounted at \/boot\/firmware, \/: it is in use/]],
    ['a partition given as a disk', { ...CEPH_NODE, disks: { ceph: ['/dev/mmcblk0p2'] } }, (r) => { r.host.hardware.links['/dev/mmcblk0p2'] = '/dev/mmcblk0p2'; }, [
      /is a part \(\/dev\/mmcblk0p2\), not a whole disk/]],
    ['a local ZFS disk on a kernel without zfs', { uplink: { interface: 'eth1' }, disks: { local: USB } }, (r) => {
      r.files.files.delete('/lib/modules/6.8.0-1018-raspi/modules.dep');
    }, [/The kernel cannot load the zfs module/]],
    ['an old snapd', CEPH_NODE, (r) => { r.host.hardware.snapd = '2.58.3'; }, [/snapd is 2\.58\.3; MicroCloud needs 2\.59\.1 or later/]],
  ])('stops before the preseed with exit 78 on %s, saying how to fix it', async (_name, node, change, messages) => {
    const { result, status, cmds, r } = await preflightOf(cluster(node), change);
    expect(result.exitCode).toBe(EXIT.config);
    expect(status).toMatchObject({ step: 'preflight', state: 'failed', needsPerson: true, preflight: { passed: false } });
    for (const message of messages) expect(status.lastError).toMatch(message);
    expect(cmds).not.toContain('microcloud preseed');
    expect((await r.files.read(MOTD)) ?? '').toMatch(/STOPPED at step preflight/);
  });

  it('lists every problem at once, numbered', async () => {
    const { status } = await preflightOf(cluster(CEPH_NODE), (r) => {
      r.host.hardware.snapd = '2.50'; r.host.hardware.links = {}; r.host.hardware.nics[1]!.up = false;
    });
    expect(status.preflight?.problems).toHaveLength(3);
    expect(status.lastError).toMatch(/found 3 problems[^]*\(1\) [^]*\(2\) [^]*\(3\) /);
  });

  it('passes a disk with old contents when it is to be wiped, and warns of little memory', async () => {
    const c = cluster({ uplink: { interface: 'eth1' }, disks: { ceph: [{ path: USB, wipe: true }] } });
    const { status, r } = await preflightOf(c, (x) => {
      x.host.hardware.disks[1]!.fstype = 'ext4';
      x.files.files.set('/proc/meminfo', { content: 'MemTotal:        3884132 kB\n', mode: 0o444 });
    });
    expect(status).toMatchObject({ step: 'wait-peers', preflight: { passed: true } });
    expect(r.log.join('\n')).toMatch(/warning: This node has 3\.7 GiB of memory; MicroCloud documents 8 GiB as its minimum/);
  });

  it('connects microceph:dm-crypt and restarts the daemon for an encrypted OSD, once', async () => {
    const c = cluster({ uplink: { interface: 'eth1' }, disks: { ceph: [{ path: USB, wipe: true, encrypt: true }] } });
    const { cmds, status } = await preflightOf(c);
    expect(status.step).toBe('wait-peers');
    expect(cmds.filter((x) => x.startsWith('snap connect ') || x.startsWith('snap restart')))
      .toEqual(['snap connect microceph:dm-crypt', 'snap restart microceph.daemon']);
    const connected = await preflightOf(c, (r) => { r.host.hardware.dmCryptConnected = true; });
    expect(connected.cmds.filter((x) => x.startsWith('snap connect '))).toEqual([]);
  });

  it('says which disks a filter picks, and stops when a local filter picks none', async () => {
    const filters = (find: string) => ({ disks: { local: [{ find, wipe: true }] } });
    const { r } = await preflightOf(cluster({ uplink: { interface: 'eth1' } }, filters('type == usb && size > 100GiB')));
    expect(r.log.join('\n')).toMatch(/The local disk filter "type == usb && size > 100GiB" picks \/dev\/sda \(128 GiB usb Samsung SSD\)/);
    const none = await preflightOf(cluster({ uplink: { interface: 'eth1' } }, filters('type == nvme')));
    expect(none.result.exitCode).toBe(EXIT.config);
    expect(none.status.lastError).toMatch(/"type == nvme" matches none of this node's free disks \(\/dev\/sda \(128 GiB usb Samsung SSD\)\)/);
  });
});

describe('two phases: no node forms the cluster until every node passed its preflight', () => {
  it('peers wait naming the failed node; reflashing only that node lets the cluster form', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const c = cluster(CEPH_NODE, {}, 3, port);
    const cloud = new FakeMicroCloud(['pi1', 'pi2', 'pi3'], 'pi1', 20_000);
    const rigs = await Promise.all(['pi1', 'pi2', 'pi3'].map((n) => rig(n, c, cloud)));
    rigs[1]!.host.hardware.nics[1]!.name = 'enx00e04c680001'; // pi2's uplink is a USB adapter
    const clock = fastClock(20_000);
    const seen: string[] = [];
    // pi2 stops (and keeps serving its status, as main.ts does); pi1 and pi3 wait for it.
    const broken = await boot(rigs[1]!, { readPeer: readStatus, clock, keepServing: true });
    expect(broken.exitCode).toBe(EXIT.config);
    const waiting = await Promise.all([rigs[0]!, rigs[2]!].map((r) => boot(r, {
      readPeer: async (address, p) => { const s = await readStatus(address, p); if (s) seen.push(`${s.node}:${s.step}`); return s; },
      clock,
    })));
    await broken.server?.close();
    expect(waiting.map((w) => w.exitCode)).toEqual([EXIT.tempfail, EXIT.tempfail]); // waited the hour, retry later
    for (const w of waiting) {
      expect(w.status().lastError).toMatch(/waiting for (pi1, |pi3, )?pi2 \(stopped at preflight: preflight found 1 problem on this node[^)]*; fix that node, then rebuild and reflash it\)/);
    }
    expect(seen).toContain('pi2:preflight');
    for (const r of rigs) expect(commands(r.host)).not.toContain('microcloud preseed');

    // The operator sets uplink.mac, rebuilds and reflashes pi2 (a fresh disk); pi1 and pi3 retry as systemd would.
    const fixed = cluster({ ...CEPH_NODE, uplink: { interface: 'enx00e04c680001' } }, {}, 3, port);
    const reflashed = await rig('pi2', fixed, cloud);
    reflashed.host.hardware.nics[1]!.name = 'enx00e04c680001';
    const results = await Promise.all([rigs[0]!, reflashed, rigs[2]!].map((r) => boot(r, { readPeer: readStatus })));
    expect(results.map((x) => x.exitCode)).toEqual([EXIT.done, EXIT.done, EXIT.done]);
    for (const r of [rigs[0]!, reflashed, rigs[2]!]) expect(commands(r.host).filter((x) => x === 'microcloud preseed')).toHaveLength(1);
  }, 60_000);
});

describe('node facts', () => {
  it('reads lsblk from before 2.38 (strings) and after (booleans, numbers)', () => {
    const old = parseLsblk('{"blockdevices":[{"name":"/dev/sda","type":"disk","size":"1000","ro":"0","rm":"1","mountpoint":null}]}');
    const now = parseLsblk('{"blockdevices":[{"name":"/dev/sda","type":"disk","size":1000,"ro":false,"rm":true,"mountpoints":[null]}]}');
    expect(old).toEqual(now);
    expect(now[0]).toMatchObject({ size: 1000, removable: true, readOnly: false, mountpoints: [] });
  });

  it('knows modules by the name modprobe takes, and compares snapd versions as numbers', () => {
    expect([...moduleNames('kernel/drivers/md/dm-crypt.ko.zst: \nkernel/net/ceph/libceph.ko\n')]).toEqual(['dm_crypt', 'libceph']);
    expect([versionAtLeast('2.63+24.04', '2.59.1'), versionAtLeast('2.59', '2.59.1'), versionAtLeast('2.100', '2.59.1')])
      .toEqual([true, false, true]);
  });
});
