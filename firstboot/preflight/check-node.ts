// The preflight verdict: does this Pi have what its part of the preseed needs? A pure function of
// what the node must have (node.json) and what it has (NodeFacts). Every problem says how to fix
// it, because the only fix on a Pi is a person: a cable, a disk, or a rebuilt image.
import { diskMatches, parseDiskFilter } from '../../builder/config/disk-filter.js';
import type { PreflightNeeds } from '../../builder/render/preflight-needs.js';
import { allOf, diskFacts, versionAtLeast, type BlockDevice, type Nic, type NodeFacts } from './node-facts.js';

export interface PreflightOutcome {
  readonly passed: boolean;
  /** Each stops the node: what is wrong, then what to do. */
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
  /** What the disk filters would pick here. */
  readonly notes: readonly string[];
}

const GiB = 2 ** 30;
const describeNic = (n: Nic) => `${n.name} (MAC ${n.mac ?? 'none'}, driver ${n.driver ?? 'unknown'}${n.up ? '' : ', down'}`
  + `${n.addresses.length ? `, ${n.addresses.join(' ')}` : ''})`;
const describeDisk = (d: BlockDevice) => `${d.path} (${(d.size / GiB).toFixed(0)} GiB${d.transport ? ` ${d.transport}` : ''}`
  + `${d.model ? ` ${d.model}` : ''})`;

function checkNics(needs: PreflightNeeds, nics: readonly Nic[]): string[] {
  const problems: string[] = [];
  const list = nics.map(describeNic).join('; ') || 'none';
  const holder = nics.find((n) => n.addresses.includes(needs.intra.address));
  if (!holder) problems.push(`The intra-cluster address ${needs.intra.address} is on no NIC (this node has: ${list}). `
    + `Check the cable of ${needs.intra.interface} and the node's address in the cluster file.`);
  else if (holder.name !== needs.intra.interface) problems.push(`The intra-cluster address ${needs.intra.address} is on ${holder.name}, `
    + `not on ${needs.intra.interface}. Set the node's interface (or mac) in the cluster file to the NIC that carries it.`);
  for (const nic of needs.dedicated) {
    if (!nics.some((n) => n.name === nic.interface && n.addresses.includes(nic.address)))
      problems.push(`${nic.interface} does not hold ${nic.address} (this node has: ${list}). Check that NIC's name or mac in the cluster file.`);
  }
  if (needs.uplink) {
    const name = needs.uplink.bridge ?? needs.uplink.interface;
    const uplink = nics.find((n) => n.name === name);
    const byMac = needs.uplink.mac ? nics.find((n) => n.mac === needs.uplink!.mac!.toLowerCase()) : undefined;
    if (!uplink && byMac && !needs.uplink.bridge) {
      // The seed names the NIC by its MAC and renames it; the rename did not take (an interface
      // that is already up when the rename is tried keeps its old name).
      problems.push(`The uplink NIC with MAC ${needs.uplink.mac} is named ${byMac.name}, not ${name}: the rename in this node's `
        + `network-config did not apply. Reboot this node once (the rename happens while the NIC comes up); if it is still `
        + `${byMac.name}, set the node's uplink.interface to ${byMac.name} instead of uplink.mac, rebuild and reflash it.`);
    } else if (!uplink) {
      problems.push(`The uplink ${needs.uplink.bridge ? `bridge ${name}` : `NIC ${name}`} does not exist`
        + `${needs.uplink.mac && !byMac ? `, and no NIC has MAC ${needs.uplink.mac}` : ''}. This node has: ${list}. `
        + 'Set the node\'s uplink.mac in the cluster file to the MAC of the NIC for OVN (a USB adapter is often enx<MAC>, not eth1), rebuild and reflash this node.');
    } else {
      if (!uplink.up) problems.push(`The uplink ${name} is down. Plug its cable in; netplan brings it up at boot.`);
      if (uplink.addresses.length) problems.push(`The uplink ${name} has the address ${uplink.addresses.join(', ')}; `
        + 'MicroCloud gives OVN only a NIC without one. Pick a NIC that no DHCP or static address configures, or remove that configuration.');
    }
  }
  return problems;
}

function checkDisks(needs: PreflightNeeds, facts: NodeFacts): { problems: string[]; warnings: string[]; notes: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const notes: string[] = [];
  const everything = facts.blockDevices.flatMap(allOf);
  const wholeDisks = facts.blockDevices.filter((d) => d.type === 'disk');
  const listDisks = () => wholeDisks.map(describeDisk).join('; ') || 'none';
  for (const disk of needs.disks) {
    const resolved = facts.diskPaths[disk.path];
    const device = resolved ? everything.find((d) => d.path === resolved) : undefined;
    const what = `The ${disk.use} disk ${disk.path}`;
    if (!resolved || !device) {
      problems.push(`${what} does not exist. This node's disks: ${listDisks()}. Plug the disk in, or fix its path in the cluster file `
        + '(/dev/disk/by-id/ names survive reboots and other USB ports).');
      continue;
    }
    if (device.type !== 'disk') {
      problems.push(`${what} is a ${device.type} (${device.path}), not a whole disk. Give the whole disk's path; MicroCloud partitions it itself.`);
      continue;
    }
    const mounted = allOf(device).flatMap((d) => d.mountpoints);
    if (mounted.length) {
      problems.push(`${what} (${device.path}) is mounted at ${mounted.join(', ')}: it is in use. Give a disk this node does not boot or store anything on.`);
      continue;
    }
    const contents = [device.pttype && `a ${device.pttype} partition table`, device.fstype && `a ${device.fstype} file system`,
      device.children.length && `${device.children.length} partition(s)`].filter(Boolean);
    if (contents.length && !disk.wipe) problems.push(`${what} (${device.path}) holds ${contents.join(', ')}. `
      + `Set wipe: true for it in the cluster file if its contents may go (rebuild and reflash), or give an empty disk.`);
  }
  const available = wholeDisks.filter((d) => !d.readOnly && !allOf(d).some((x) => x.mountpoints.length) && !d.children.length);
  for (const filter of needs.filters) {
    const parsed = parseDiskFilter(filter.find);
    if (!parsed.ok) { problems.push(`The ${filter.use} disk filter "${filter.find}" does not parse: ${parsed.mistake.message}.`); continue; }
    const picks = available.filter((d) => diskMatches(parsed.clauses, diskFacts(d)));
    if (picks.length) notes.push(`The ${filter.use} disk filter "${filter.find}" picks ${picks.map(describeDisk).join(', ')}.`);
    else {
      const message = `The ${filter.use} disk filter "${filter.find}" matches none of this node's free disks (${
        available.map(describeDisk).join('; ') || 'none'}).`;
      // A local pool needs its disk on every node; Ceph's find_min counts the whole cluster.
      if (filter.use === 'local' && filter.findMin > 0) problems.push(`${message} Plug in a disk it matches, or change the filter.`);
      else warnings.push(`${message} This node gets no ${filter.use} disk from it.`);
    }
  }
  return { problems, warnings, notes };
}

const MODULE_FIX: Readonly<Record<string, string>> = {
  zfs: 'the local ZFS pool needs it: install the kernel\'s ZFS module (linux-modules-extra or zfs-dkms), or drop the local disk',
  dm_crypt: 'encrypted OSDs need it: use a kernel with dm-crypt, or set encrypt: false',
  rbd: 'Ceph volumes need it: use a kernel with rbd',
  ceph: 'CephFS needs it: use a kernel with the ceph module',
};

export function checkNode(needs: PreflightNeeds, facts: NodeFacts): PreflightOutcome {
  const problems = checkNics(needs, facts.nics);
  const disks = checkDisks(needs, facts);
  problems.push(...disks.problems);
  for (const module of needs.modules) {
    if (facts.modules[module] === false) problems.push(`The kernel cannot load the ${module} module; ${MODULE_FIX[module] ?? 'MicroCloud needs it'}.`);
  }
  if (facts.snapdVersion === undefined) problems.push('snapd does not answer `snap version`. Check that snapd is installed and running.');
  else if (!versionAtLeast(facts.snapdVersion, needs.snapdMin))
    problems.push(`snapd is ${facts.snapdVersion}; MicroCloud needs ${needs.snapdMin} or later. Run snap refresh snapd (or update the base image).`);
  const warnings = [...disks.warnings];
  // A board reports a little less than its nominal size (the firmware and GPU keep some).
  const nominalMiB = facts.memoryMiB === undefined ? undefined : Math.round(facts.memoryMiB / 1024) * 1024;
  if (facts.memoryMiB !== undefined && nominalMiB! < needs.memoryMinMiB)
    warnings.push(`This node has ${(facts.memoryMiB / 1024).toFixed(1)} GiB of memory; MicroCloud documents ${needs.memoryMinMiB / 1024} GiB as its minimum.`);
  return { passed: problems.length === 0, problems, warnings, notes: disks.notes };
}
