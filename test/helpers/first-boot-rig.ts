// The first-boot service's test rig: one node's config, TEST DOUBLES of its host and disk, a
// clock 500x faster than the wall clock, and a boot that closes its status server.
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { CommandRunner } from '../../builder/command-runner.js';
import { asSecret, type Cluster } from '../../builder/config/types.js';
import { cardIdentity, planNodeConfig, type NodeConfig, type SeedOptions } from '../../builder/render/node-config.js';
import { NODE_KEY_PATH } from '../../firstboot/join/node-identity.js';
import { renderPreseed } from '../../builder/render/preseed.js';
import { renderUserData } from '../../builder/render/user-data.js';
import { firstBoot } from '../../firstboot/first-boot.js';
import { sendJoin } from '../../firstboot/join/send-join.js';
import type { Clock, JoinSender, Logger, PeerStatusReader, ServiceInfo } from '../../firstboot/run/types.js';
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

/** One epoch for every fast clock of a test file: nodes booted seconds apart still agree on the time, as NTP makes them. */
const EPOCH = Date.now();

/** Time runs 500x faster than the wall clock, so minutes of polling take a fraction of a second. */
export function fastClock(factor = 500): Clock {
  return { now: () => EPOCH + (Date.now() - EPOCH) * factor, sleep: (ms) => new Promise((r) => setTimeout(r, Math.max(1, ms / factor))) };
}

export function quietLog(lines: string[] = []): Logger {
  return { info: (l) => lines.push(l), warn: (l) => lines.push(`warning: ${l}`) };
}

export interface NodeRig { config: NodeConfig; host: FakeHost; files: FakeFiles; journalPath: string; log: string[] }

/**
 * Where cloud-init leaves copies of user-data on a booted node, each as it encodes it there: the FAT
 * seed and its caches as they are, the pickled datasource with the text inside, and the instance
 * data as a JSON string (quotes and backslashes escaped).
 */
export const CLOUD_INIT_COPIES: Readonly<Record<string, (userData: string) => string>> = {
  '/boot/firmware/user-data': (u) => u,
  '/var/lib/cloud/instances/iid-pi/user-data.txt': (u) => u,
  '/var/lib/cloud/instances/iid-pi/user-data.txt.i': (u) => `Content-Type: multipart/mixed\n\n--===\nContent-Type: text/cloud-config\n\n${u}\n--===--\n`,
  '/var/lib/cloud/instances/iid-pi/cloud-config.txt': (u) => `#cloud-config\n${u.replace(/^#cloud-config\n/, '')}`,
  '/var/lib/cloud/instances/iid-pi/obj.pkl': (u) => `\u0080\u0004\u0095userdata_raw\u0094\u008c${u}\u0094.`,
  '/run/cloud-init/instance-data-sensitive.json': (u) => JSON.stringify({ ds: { user_data: u } }),
};

export async function rig(nodeName: string, c: Cluster = cluster(1), cloud?: FakeMicroCloud, seed: SeedOptions = {},
  options: { passphrase?: string } = {}): Promise<NodeRig> {
  const config = planNodeConfig(c, nodeName, seed);
  const files = new FakeFiles();
  const passphrase = asSecret(options.passphrase ?? TEST_PASSPHRASE);
  await files.write(config.preseedPath, renderPreseed(c, passphrase), 0o600);
  // The seed's user-data carries the preseed too (write_files), on the FAT and in cloud-init's copies.
  const userData = renderUserData(c, nodeName, renderPreseed(c, passphrase), seed);
  for (const [copy, encode] of Object.entries(CLOUD_INIT_COPIES)) await files.write(copy, encode(userData), copy.startsWith('/boot') ? 0o755 : 0o600);
  // cloud-init writes the card's own key too (write_files), when the card was built with an operator key.
  if (seed.ticket) await files.write(NODE_KEY_PATH, `${cardIdentity(c, nodeName, seed.ticket).privateKey}\n`, 0o600);
  const host = new FakeHost(nodeName, config.address, cloud ?? new FakeMicroCloud(c.nodes.map((n) => n.name), config.initiator));
  host.files = files; // the MicroCloud certificate goes where the node reads it
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
  if (!options.keepServing) await result.close(); // its status endpoint, and its bundle server when it has one
  return result;
}

export const commands = (host: FakeHost) => host.calls.map((c) => `${c.file} ${c.args.join(' ')}`);
