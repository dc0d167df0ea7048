// What every boot test does from outside its guests: poll until something holds, read
// `build-image status` inside the private network, and on failure show the guests' consoles.
import { join } from 'node:path';
import { execa } from 'execa';
import { fromPackageRoot } from '../../../builder/package-root.js';
import type { StatusRow } from '../../../builder/status.js';
import { sleep, type Guest } from './guest.js';
import type { PrivateNetwork } from './private-network.js';

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
