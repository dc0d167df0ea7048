// The one way the image code runs tools: an injected function, execa in production.
import { execa } from 'execa';
import { CommandFailed } from './errors.js';

export interface Ran { exitCode: number | undefined; stdout: string; stderr: string }
export type CommandRunner = (file: string, args: readonly string[],
  options?: { env?: Record<string, string> }) => Promise<Ran>;

/** PATH as tools are run: sfdisk, debugfs, resize2fs and e2fsck live in sbin, not on a user's PATH. */
export const programSearchPath = (path: string | undefined): string => `${path ?? '/usr/bin:/bin'}:/usr/sbin:/sbin`;
const PATH = programSearchPath(process.env.PATH);

export const execaRunner: CommandRunner = async (file, args, options = {}) => {
  const r = await execa(file, [...args], {
    reject: false,
    env: { PATH, MTOOLS_SKIP_CHECK: '1', LC_ALL: 'C', ...options.env },
  });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
};

export function ensureOk(command: string, ran: Ran): Ran {
  if (ran.exitCode !== 0) throw new CommandFailed(command, ran.exitCode, ran.stderr);
  return ran;
}
