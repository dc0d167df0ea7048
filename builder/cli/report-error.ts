// The one place that turns an error into what the user reads and the exit code.
import { ConfigError, formatProblem } from '../config/problems.js';
import { UnknownNodeError } from '../render/node-named.js';
import { UnknownBaseImageError } from '../image/base/catalog.js';
import { CommandFailed } from '../command-runner.js';
import { DownloadError, ImageLayoutError, VerificationError } from '../image/errors.js';
import { FlashRefused } from '../flash/flash-command.js';
import { MissingProgramsError } from '../host-programs/find-programs.js';
import { OutFolderError } from '../output/out-folder.js';
import { ServeRefused } from '../serve/serve-refused.js';
import { BundleFolderRefused } from '../snaps/bundle.js';
import { UsageError } from './errors.js';

export const EXIT = { ok: 0, internal: 1, usage: 2, config: 2, revoke: 3, download: 4, verification: 5, image: 6, programs: 7, interrupted: 130 } as const;

export function reportError(error: unknown, options: { debug: boolean; stderr: (line: string) => void }): number {
  const { stderr } = options;
  if (error instanceof ConfigError) {
    const errors = error.problems.filter((p) => p.severity === 'error');
    for (const p of error.problems) stderr(formatProblem(p));
    stderr(`${errors.length} problem${errors.length === 1 ? '' : 's'} found; nothing was written.`);
    return EXIT.config;
  }
  if (error instanceof UsageError || error instanceof UnknownNodeError || error instanceof UnknownBaseImageError
    || error instanceof FlashRefused || error instanceof ServeRefused || error instanceof BundleFolderRefused) {
    stderr(`build-image: ${error.message}`);
    return EXIT.usage;
  }
  if (error instanceof OutFolderError) {
    for (const line of `build-image: ${error.message}`.split('\n')) stderr(line);
    return EXIT.usage;
  }
  if (error instanceof MissingProgramsError) {
    for (const line of error.message.split('\n')) stderr(line);
    return EXIT.programs;
  }
  if (error instanceof DownloadError) {
    stderr(`build-image: ${error.message}`);
    return EXIT.download;
  }
  if (error instanceof VerificationError) {
    stderr(`build-image: ${error.message}.`);
    return EXIT.verification;
  }
  if (error instanceof ImageLayoutError || error instanceof CommandFailed) {
    stderr(`build-image: ${error.message}`);
    stderr('Nothing partial was left in the output directory.');
    return EXIT.image;
  }
  const err = error instanceof Error ? error : new Error(String(error));
  const code = (err as NodeJS.ErrnoException).code;
  const path = (err as NodeJS.ErrnoException).path;
  if (code === 'ENOSPC' || code === 'EFBIG' || code === 'EDQUOT') {
    stderr(`build-image: the disk is full (${code}${path ? ` on ${path}` : ''}: ${err.message}). Free some space `
      + '(an image needs its full size, a compressed one a few MB of cache per GB), then run the same command again.');
    stderr('Nothing partial was left in the output directory.');
    return EXIT.image;
  }
  stderr(`build-image: unexpected failure: ${code && path ? `${code} on ${path}` : err.message}`);
  stderr(options.debug ? String(err.stack) : 'Rerun with --debug for details, and report it if it is a bug.');
  return EXIT.internal;
}
