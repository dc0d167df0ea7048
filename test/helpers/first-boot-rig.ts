// The first-boot service's test rig: one node's config, TEST DOUBLES of its host and disk, a
// clock 500x faster than the wall clock, and a boot that closes its status server.
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { CommandRunner } from '../../builder/command-runner.js';
import type { Cluster } from '../../builder/config/types.js';
import { planNodeConfig, type NodeConfig, type SeedOptions } from '../../builder/render/node-config.js';
import { renderPreseed } from '../../builder/render/preseed.js';
import { renderUserData } from '../../builder/render/user-data.js';
import { firstBoot } from '../../firstboot/first-boot.js';
import { sendJoin } from '../../firstboot/join/send-join.js';
import type { Clock, JoinSender, Logger, PeerStatusReader, ServiceInfo } from '../../firstboot/run/types.js';
import { USER_DATA_COPIES } from '../../firstboot/steps/finish.js';
import { FakeFiles, FakeHost, FakeMicroCloud } from '../doubles/fake-host.js';
import { clusterFromText, TEST_PASSPHRASE } from './examples.js';
import { tempDir } from './temp-dir.js';

export const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@laptop';

export function cluster(nodes: number, options: { discovery?: 'multicast' | 'unicast'; port?: number; grow?: boolean } = {}) {
  return clusterFromText(stringify({
    cluster: { name: 'loop', domain: 'loop.internal' },
    admin: { user: 'ops', ssh_keys: [KEY] },
    network: { subnet: '127.0.0.0/24', gateway: '127.0.0.1', dns: ['127.0.0.1'] },
    nodes: Array.from({ length: nodes }, (_, i) => ({ name: `pi${i + 1}`, address: `127.0.0.${11 + i}` })),
    microcloud: { discovery: options.discovery ?? 'multicast', status_port: options.port ?? 9180,
      ...(options.grow !== undefined ? { grow: options.grow } : {}) },
  }));
}

/** Time runs 500x faster than the wall clock, so minutes of polling take a fraction of a second. */
export function fastClock(factor = 500): Clock {
  const start = Date.now();
  return { now: () => start + (Date.now() - start) * factor, sleep: (ms) => new Promise((r) => setTimeout(r, Math.max(1, ms / factor))) };
}

export function quietLog(lines: string[] = []): Logger {
  return { info: (l) => lines.push(l), warn: (l) => lines.push(`warning: ${l}`) };
}

export interface NodeRig { config: NodeConfig; host: FakeHost; files: FakeFiles; journalPath: string; log: string[] }

export async function rig(nodeName: string, c: Cluster = cluster(1), cloud?: FakeMicroCloud, seed: SeedOptions = {}): Promise<NodeRig> {
  const config = planNodeConfig(c, nodeName, seed);
  const files = new FakeFiles();
  await files.write(config.preseedPath, renderPreseed(c, TEST_PASSPHRASE), 0o600);
  // The seed's user-data carries the preseed too (write_files), on the FAT and in cloud-init's copy.
  const userData = renderUserData(c, nodeName, renderPreseed(c, TEST_PASSPHRASE), seed);
  for (const copy of USER_DATA_COPIES) await files.write(copy, userData, 0o600);
  const host = new FakeHost(nodeName, config.address, cloud ?? new FakeMicroCloud(c.nodes.map((n) => n.name), config.initiator));
  const journalPath = join(await tempDir('mcpi-fb-'), 'journal.json');
  return { config, host, files, journalPath, log: [] };
}

export async function boot(r: NodeRig, options: {
  run?: CommandRunner; readPeer?: PeerStatusReader; sendJoin?: JoinSender; clock?: Clock; service?: ServiceInfo;
  /** Leave the status server up (a stopped node keeps serving why); the caller closes it. */
  keepServing?: boolean;
} = {}) {
  const result = await firstBoot({
    config: r.config, run: options.run ?? r.host.run, log: quietLog(r.log), clock: options.clock ?? fastClock(),
    files: r.files, readPeer: options.readPeer ?? (async () => undefined), sendJoin: options.sendJoin ?? sendJoin, journalPath: r.journalPath,
    listenHost: r.config.address, ...(options.service ? { service: options.service } : {}),
  });
  if (!options.keepServing) await result.server?.close();
  return result;
}

export const commands = (host: FakeHost) => host.calls.map((c) => `${c.file} ${c.args.join(' ')}`);
