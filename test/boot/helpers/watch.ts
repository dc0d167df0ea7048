// What every boot test does from outside its guests: build their images and network, poll until
// something holds, read `build-image status` inside the network, show the consoles on failure.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { tempDir } from '../../helpers/temp-dir.js';
import { fromPackageRoot } from '../../../builder/package-root.js';
import { readImageLayout } from '../../../builder/image/base/layout.js';
import type { StatusRow } from '../../../builder/status.js';
import { sleep, type Guest } from './guest.js';
import { createPrivateNetwork, type PrivateNetwork } from './private-network.js';

export const MINUTE = 60_000;
export const CLI = fromPackageRoot('dist', 'builder', 'cli', 'main.js');

export async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>, everyMs = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(everyMs);
  }
}

/** `build-image status --json` for the cluster file in `work`, run inside the guests' network. */
export async function clusterStatus(network: PrivateNetwork, work: string): Promise<StatusRow[]> {
  const [command, args] = network.exec(process.execPath, [CLI, 'status', '-c', join(work, 'cluster.yaml'), '--json']);
  return JSON.parse((await execa(command, args)).stdout) as StatusRow[];
}

/** Runs `body`; on failure, every guest's console (the tail) goes to the test output. */
export async function explained<T>(guests: readonly Guest[], what: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    for (const g of guests) {
      const lines = (await g.console()).split('\n');
      process.stderr.write(`\n===== ${g.spec.name} serial console (last 120 of ${lines.length} lines; full log ${g.log}) =====\n`
        + `${lines.slice(-120).join('\n')}\n`);
    }
    process.stderr.write(`\n${what} failed: ${(error as Error).message}\n`);
    throw error;
  }
}

/** A guest that cannot boot will not recover: stop at once rather than at the deadline. */
export async function failFastOnBrokenBoot(guests: readonly Guest[]): Promise<void> {
  for (const g of guests) {
    const broken = /You are in emergency mode|Kernel panic|Give root password for maintenance/.exec(await g.console());
    if (broken) throw new Error(`${g.spec.name} did not boot: "${broken[0]}" on its console`);
  }
}

/** Where a boot test's guests live: their images, built by build-image, and a private network with an NTP server double. */
export interface Lab {
  readonly work: string;
  readonly network: PrivateNetwork;
  readonly ntpServer: ChildProcess;
  readonly imageBuildSeconds: number;
}

/** Builds every node image of `clusterFile` from `base` (catalog id `imageId`) into `work/out`, then the network. */
export async function setUpLab(o: {
  prefix: string; clusterFile: string; base: string; imageId: string; cacheDir: string; hostAddress: string; guests: number;
  /** The cluster's join passphrase, as an operator would choose it (else build-image generates one). */
  passphrase?: string;
}): Promise<Lab> {
  const work = await tempDir(o.prefix);
  await copyFile(o.clusterFile, join(work, 'cluster.yaml'));
  if (o.passphrase !== undefined)
    await writeFile(join(work, 'cluster.secrets.yaml'), stringify({ session_passphrase: o.passphrase }), { mode: 0o600 });
  const started = Date.now();
  await execa(process.execPath, [CLI, '-c', join(work, 'cluster.yaml'), '--all', '--base-image', o.base, '--image', o.imageId,
    '--out', join(work, 'out'), '--cache', o.cacheDir], { stderr: 'inherit' });
  const imageBuildSeconds = (Date.now() - started) / 1000;
  const network = await createPrivateNetwork(o.hostAddress, o.guests);
  const [command, args] = network.exec(process.execPath, [fromPackageRoot('test', 'boot', 'doubles', 'ntp-server.mjs'), o.hostAddress.split('/')[0]!]);
  return { work, network, ntpServer: spawn(command, args, { stdio: 'inherit' }), imageBuildSeconds };
}

export async function tearDownLab(lab: Lab | undefined, guests: readonly Guest[]): Promise<void> {
  await Promise.all(guests.map((g) => g.kill()));
  lab?.ntpServer.kill();
  await lab?.network.destroy();
}

/**
 * Replaces `work/out/NODE.img` with a card as a user of a stock image makes it: the untouched base,
 * and the `--seed-only` folder copied onto its FAT (mtools, as a file manager would).
 */
export async function stockCardWithSeedFolder(lab: Lab, o: { node: string; base: string; imageId: string; cacheDir: string }): Promise<string> {
  const seeds = join(lab.work, 'seeds');
  await execa(process.execPath, [CLI, '-c', join(lab.work, 'cluster.yaml'), '--node', o.node, '--seed-only', '--image', o.imageId,
    '--out', seeds, '--cache', o.cacheDir], { stderr: 'inherit' });
  // Beside the build's output, not in it: a build of another node into that folder must find it as the build left it.
  const image = join(lab.work, `${o.node}.stock.img`);
  await copyFile(o.base, image);
  const { boot } = await readImageLayout(image);
  const folder = join(seeds, o.node);
  await execa('mcopy', ['-s', '-o', '-i', `${image}@@${boot.offset}`, ...(await readdir(folder)).map((n) => join(folder, n)), '::/'],
    { env: { MTOOLS_SKIP_CHECK: '1' } });
  return image;
}
