// build-image status: where every node stands: a summary line, then the nodes that are not done
// (all with --all). --watch looks again until every node is signed done or one needs a person:
// redrawn in place on a terminal, one JSON line per look with --json, a frame per change otherwise.
import { loadCluster } from '../../config/load-cluster.js';
import { statusKey } from '../../status-key.js';
import { collectStatus, formatStatusTable, formatSummary, watchVerdict } from '../../status.js';
import { terminalJson } from '../../terminal-text.js';
import { parseStatusArgs } from '../args.js';
import type { CliIo, RunDeps } from '../io.js';

/** Clear the screen and go home: one frame in place of the last. */
const REDRAW = '\x1b[H\x1b[2J';

export async function statusCommand(argv: readonly string[], io: CliIo, deps: RunDeps): Promise<number> {
  const options = parseStatusArgs(argv);
  const { cluster } = await loadCluster(options.config);
  const found = await statusKey(options.config, cluster.name, io.env);
  if (!found.key) io.stderr(found.problem);
  else if (found.warning) io.stderr(`warning: ${found.warning}`);
  const look = () => collectStatus(cluster, deps.readPeer, found.key);
  const table = { all: options.all, keyless: !found.key };
  if (!options.watch) {
    const rows = await look();
    io.stdout(options.json ? `${terminalJson(rows, 2)}\n` : formatStatusTable(rows, table));
    return 0;
  }
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = deps.now ?? Date.now;
  let last = '';
  for (;;) {
    const rows = await look();
    const at = new Date(now()).toISOString();
    if (options.json) {
      io.stdout(`${terminalJson({ at, summary: formatSummary(rows), nodes: rows })}\n`);
    } else {
      const frame = formatStatusTable(rows, table);
      // The redraw wipes what went to stderr before: a missing key is said again on every frame.
      if (io.isTTY && io.write) io.write(`${REDRAW}${at}\n${found.key ? '' : `${found.problem}\n`}${frame}`);
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
