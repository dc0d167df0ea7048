// build-image status: where every node stands: a summary line, then the nodes that are not done
// (all with --all). --watch looks again until every node is done or one needs a person: redrawn
// in place on a terminal, one JSON line per look with --json, a frame per change otherwise.
import { loadCluster } from '../../config/load-cluster.js';
import { collectStatus, formatStatusTable, formatSummary, watchVerdict } from '../../status.js';
import { parseStatusArgs } from '../args.js';
import type { CliIo, RunDeps } from '../io.js';

/** Clear the screen and go home: one frame in place of the last. */
const REDRAW = '\x1b[H\x1b[2J';

export async function statusCommand(argv: readonly string[], io: CliIo, deps: RunDeps): Promise<number> {
  const options = parseStatusArgs(argv);
  const { cluster } = await loadCluster(options.config);
  if (!options.watch) {
    const rows = await collectStatus(cluster, deps.readPeer);
    io.stdout(options.json ? `${JSON.stringify(rows, null, 2)}\n` : formatStatusTable(rows, { all: options.all }));
    return 0;
  }
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = deps.now ?? Date.now;
  let last = '';
  for (;;) {
    const rows = await collectStatus(cluster, deps.readPeer);
    const at = new Date(now()).toISOString();
    if (options.json) {
      io.stdout(`${JSON.stringify({ at, summary: formatSummary(rows), nodes: rows })}\n`);
    } else {
      const frame = formatStatusTable(rows, { all: options.all });
      if (io.isTTY && io.write) io.write(`${REDRAW}${at}\n${frame}`);
      else if (frame !== last) io.stdout(`${at}\n${frame}`);
      last = frame;
    }
    const verdict = watchVerdict(rows);
    if (verdict.done) {
      io.stderr(verdict.message);
      return verdict.exitCode;
    }
    await sleep(options.intervalSeconds * 1000);
  }
}
