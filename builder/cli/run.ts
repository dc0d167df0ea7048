// build-image, as a function of argv, its io and the outside world, returning the exit code.
// Subcommands: (none) build seeds or images, `status`, `flash`, `doctor`, `revoke`, `snaps`, `serve`.
import { readStatus } from '../../firstboot/status/read-status.js';
import { lsblkProbe } from '../flash/device-facts.js';
import { execaRunner, programSearchPath } from '../command-runner.js';
import { removeOwnLeftoversSync } from '../output/leftovers.js';
import { parseBuildArgs } from './args.js';
import { buildCommand } from './commands/build.js';
import { doctorCommand } from './commands/doctor.js';
import { flashCommand } from './commands/flash.js';
import { revokeCommand } from './commands/revoke.js';
import { serveCommand } from './commands/serve.js';
import { snapsCommand } from './commands/snaps.js';
import { statusCommand } from './commands/status.js';
import type { CliIo, RunDeps } from './io.js';
import { reportError } from './report-error.js';
import { SUBCOMMANDS, subcommandHelp } from './help.js';

export type { CliIo, RunDeps } from './io.js';

export async function run(argv: readonly string[], io: CliIo, overrides: Partial<RunDeps> = {}): Promise<number> {
  const deps: RunDeps = {
    readPeer: readStatus, probe: lsblkProbe(execaRunner), programPath: programSearchPath(io.env.PATH ?? process.env.PATH), ...overrides,
  };
  try {
    const subcommand = SUBCOMMANDS.find((s) => s === argv[0]);
    if (subcommand && wantsHelp(argv.slice(1))) {
      io.stdout(subcommandHelp(subcommand));
      return 0;
    }
    if (argv[0] === 'status') return await statusCommand(argv.slice(1), io, deps);
    if (argv[0] === 'flash') return await flashCommand(argv.slice(1), io, deps);
    if (argv[0] === 'doctor') return await doctorCommand(argv.slice(1), io, deps);
    if (argv[0] === 'revoke') return await revokeCommand(argv.slice(1), io, deps);
    if (argv[0] === 'snaps') return await snapsCommand(argv.slice(1), io, deps);
    if (argv[0] === 'serve') return await serveCommand(argv.slice(1), io);
    return await buildCommand(parseBuildArgs(argv), io, deps);
  } catch (error) {
    removeOwnLeftoversSync(); // each step cleans up after itself; this catches what slipped through
    return reportError(error, { debug: argv.includes('--debug'), stderr: io.stderr });
  }
}

/** --help or -h anywhere before a lone `--` (after it, words are arguments: flash's image may be named -h). */
function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}
