// build-image flash IMAGE DEVICE
import { stat } from 'node:fs/promises';
import { flash } from '../../flash/flash-command.js';
import { requirePrograms } from '../../host-programs/find-programs.js';
import { programsForFlash } from '../../host-programs/programs.js';
import { flashUnsupported } from '../../flash/platform-support.js';
import { parseFlashArgs } from '../args.js';
import { UsageError } from '../errors.js';
import { progressFor, type CliIo, type RunDeps } from '../io.js';

export async function flashCommand(argv: readonly string[], io: CliIo, deps: RunDeps): Promise<number> {
  const options = parseFlashArgs(argv);
  const isFile = await stat(options.target).then((s) => s.isFile(), () => false);
  const unsupported = flashUnsupported(process.platform, isFile);
  if (unsupported) throw new UsageError(unsupported);
  const toDevice = await stat(options.target).then((s) => s.isBlockDevice(), () => false);
  await requirePrograms(programsForFlash().filter((n) => toDevice || n.program.name !== 'lsblk'),
    deps.programPath);
  const result = await flash(options, {
    probe: deps.probe, log: io.stderr, onProgress: progressFor(io),
    ...(io.confirm ? { confirm: io.confirm } : {}),
    ...(deps.beforeReadBack ? { beforeReadBack: deps.beforeReadBack } : {}),
  });
  io.stderr(`Wrote ${result.bytes} bytes to ${options.target} and read them back: SHA-256 ${result.sha256} matches.`);
  io.stdout(`${result.sha256}  ${options.target}\n`);
  return 0;
}
