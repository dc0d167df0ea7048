// build-image status: one table of where every node stands.
import { loadCluster } from '../../config/load-cluster.js';
import { collectStatus, formatStatusTable } from '../../status.js';
import { parseStatusArgs } from '../args.js';
import type { CliIo, RunDeps } from '../io.js';

export async function statusCommand(argv: readonly string[], io: CliIo, deps: RunDeps): Promise<number> {
  const options = parseStatusArgs(argv);
  const { cluster } = await loadCluster(options.config);
  const rows = await collectStatus(cluster, deps.readPeer);
  io.stdout(options.json ? `${JSON.stringify(rows, null, 2)}\n` : formatStatusTable(rows));
  return 0;
}
