// argv -> ServeOptions for `build-image serve`, and its --help. Every default is applied here, once.
import { isIP } from 'node:net';
import { BUNDLE_PORT } from '../../../firstboot/bundle/bundle-sources.js';
import { UsageError } from '../errors.js';
import { commandHelp, COMMON_OPTIONS, commonOptions, parseCommandArgs, type CommonOptions } from './command-args.js';

export interface ServeOptions extends CommonOptions {
  /** Default: where build-image snaps writes for arm64, beside the cluster file. */
  readonly bundle?: string;
  /** Default: this computer's address in the cluster's intra subnet. */
  readonly listen?: string;
  /** Default: the cluster file's microcloud.snaps.server port, else BUNDLE_PORT. */
  readonly port?: number;
  /** Check every .snap's SHA3-384 once before serving (default on). */
  readonly verify: boolean;
}

const OPTIONS = {
  ...COMMON_OPTIONS, bundle: { type: 'string', short: 'b' }, listen: { type: 'string' }, port: { type: 'string', short: 'p' },
  'no-verify': { type: 'boolean' },
} as const;

export const SERVE_USAGE = 'build-image serve --config FILE [--bundle DIR] [--listen ADDRESS] [--port N] [--no-verify]';

export function parseServeArgs(argv: readonly string[]): ServeOptions {
  const values = parseCommandArgs(argv, OPTIONS, { name: 'serve', usage: SERVE_USAGE });
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!/^\d+$/.test(values.port!) || port < 1 || port > 65535))
    throw new UsageError(`--port ${values.port} is not a TCP port. Give a number from 1 to 65535 (default: the cluster file's microcloud.snaps.server port, or ${BUNDLE_PORT}).`);
  if (values.listen !== undefined && !isIP(values.listen))
    throw new UsageError(`--listen ${values.listen} is not an IP address. Give this computer's address on the cluster's network, e.g. 10.20.0.2.`);
  return {
    ...commonOptions(values), ...(port !== undefined ? { port } : {}), verify: !(values['no-verify'] ?? false),
    ...(values.bundle !== undefined ? { bundle: values.bundle } : {}), ...(values.listen !== undefined ? { listen: values.listen } : {}),
  };
}

export const SERVE_ABOUT = `  Serves a snap bundle (what build-image snaps wrote) to the cluster's nodes, read-only:
  GET /bundle/bundle.json, /bundle/NAME_REV.snap and .assert (only the names bundle.json
  lists; whole or from a byte range, so a node resumes), and GET /time, this computer's
  clock, so an offline site agrees on the time. Before it listens it checks the bundle:
  bundle.json, every listed file there at its size, each .assert's snap-revision naming its
  .snap's SHA3-384 and size, the cluster's snaps at the cluster file's channels, and (unless
  --no-verify) every .snap's SHA3-384, read once with progress. It listens where the nodes
  ask: microcloud.snaps.server (ADDRESS[:PORT], port ${BUNDLE_PORT} unless given), which must be an
  address of this computer; for a cluster file without one, this computer's address in
  network.subnet. It shows which node (by the cluster file's addresses) fetched which file,
  how far, and when it was done: redrawn in place on a terminal, a line per start and end
  otherwise. It runs
  on any OS with Node alone, needs no root, and writes nothing: stop it with Ctrl-C at any
  time; a node that was fetching resumes from another source or when serve runs again.`;

/** The options and exit codes, as help.ts prints them (it adds --debug, --help and exit 1). */
export const SERVE_OPTIONS = `  -c, --config FILE   the cluster file (default: cluster.yaml): its subnet and node addresses
  -b, --bundle DIR    the bundle folder (default: <cluster>-snaps-arm64 beside the cluster
                      file, where build-image snaps writes)
      --listen ADDRESS
                      the address to listen on (default: microcloud.snaps.server, or
                      this computer's address in network.subnet)
  -p, --port N        the TCP port (default: microcloud.snaps.server's, or ${BUNDLE_PORT})
      --no-verify     skip the SHA3-384 check of each .snap at start (sizes and assertions
                      are still checked; every node checks each file before installing it)`;

export const SERVE_EXITS = `  0  stopped by its caller (tests); Ctrl-C ends it with 130, as every command: it writes
     nothing, so nothing is lost
  2  bad arguments, an invalid cluster file, a bundle that is missing, incomplete, for
     other channels, or whose files fail their checks (every problem is listed), or an
     address or port this computer cannot listen on`;

export const SERVE_HELP = commandHelp({ usage: SERVE_USAGE, about: SERVE_ABOUT, options: SERVE_OPTIONS, exits: SERVE_EXITS });
