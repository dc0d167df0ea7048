// Entry point on the Pi (bundled to one file, run by the pinned node runtime under systemd).
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { NodeConfig } from '../builder/render/node-config.js';
import { NODE_CONFIG_PATH } from '../builder/render/node-config.js';
import { journalLogger, realClock, realFiles, realRunner } from './run/adapters.js';
import { EXIT, firstBoot } from './first-boot.js';
import { sendJoin } from './join/send-join.js';
import { readStatus } from './status/read-status.js';
import type { ServiceInfo } from './run/types.js';

const log = journalLogger();
const configPath = process.env.MICROCLOUD_PI_NODE_CONFIG ?? NODE_CONFIG_PATH;
let config: NodeConfig;
try {
  config = JSON.parse(await readFile(configPath, 'utf8')) as NodeConfig;
} catch (error) {
  log.warn(`${configPath} cannot be read (${(error as Error).message}); the seed did not reach this node`);
  process.exit(EXIT.config);
}
const bootId = (await realFiles.read('/proc/sys/kernel/random/boot_id'))?.trim();
const service: ServiceInfo = {
  runtime: process.execPath, nodeVersion: process.version, underSystemd: process.env.INVOCATION_ID !== undefined,
  ...(bootId ? { bootId } : {}), hostname: hostname(),
};
const result = await firstBoot({
  config, run: realRunner(log), log, clock: realClock, files: realFiles, readPeer: readStatus, sendJoin,
  journalPath: '/var/lib/microcloud-pi/journal.json', service,
});
if (result.exitCode === EXIT.done) {
  log.info('first boot complete; serving status for peers and the operator');
} else if (result.exitCode === EXIT.config) {
  // Only a person can fix this: keep telling peers and `build-image status` why (peers wait,
  // naming this node) until systemd stops the service; exit 78 then, so it is not restarted.
  log.warn('first boot stopped; a person must act (see above). Still serving status.');
  await new Promise((resolve) => process.once('SIGTERM', resolve));
  await result.server?.close();
  process.exit(result.exitCode);
} else {
  // Keep answering peers for a moment so they can see why, then let systemd restart us.
  await realClock.sleep(20_000);
  await result.server?.close();
  process.exit(result.exitCode);
}
