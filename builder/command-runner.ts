// How our code runs a program: one injected function type for the image build, flashing and the
// first-boot service, so a test hands each of them a double. execa in production.
import { execa } from 'execa';

export interface Ran {
  exitCode: number | undefined; stdout: string; stderr: string; timedOut?: boolean;
  /** Stopped through `signal` before it ended by itself. */
  cancelled?: boolean;
}
export interface RunOptions {
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
  readonly input?: string;
  /** Strings a runner that logs must blank out of what it logs (the first-boot service does). */
  readonly secret?: readonly string[];
  /** Stops the program (SIGTERM) when aborted: the result then says `cancelled`. */
  readonly signal?: AbortSignal;
}
export type CommandRunner = (file: string, args: readonly string[], options?: RunOptions) => Promise<Ran>;

/** PATH as tools are run: sfdisk, debugfs, resize2fs and e2fsck live in sbin, not on a user's PATH. */
export const programSearchPath = (path: string | undefined): string => `${path ?? '/usr/bin:/bin'}:/usr/sbin:/sbin`;
const PATH = programSearchPath(process.env.PATH);

export const execaRunner: CommandRunner = async (file, args, options = {}) => {
  const r = await execa(file, [...args], {
    reject: false,
    ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
    ...(options.input !== undefined ? { input: options.input } : {}),
    ...(options.signal ? { cancelSignal: options.signal } : {}),
    env: { PATH, MTOOLS_SKIP_CHECK: '1', LC_ALL: 'C', ...options.env },
  });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr), timedOut: r.timedOut, ...(r.isCanceled ? { cancelled: true } : {}) };
};

export function ensureOk(command: string, ran: Ran): Ran {
  if (ran.exitCode !== 0) throw new CommandFailed(command, ran.exitCode, ran.stderr);
  return ran;
}

/** An external tool (mcopy, debugfs, resize2fs...) failed. */
export class CommandFailed extends Error {
  override name = 'CommandFailed';
  constructor(readonly command: string, readonly exitCode: number | undefined, readonly stderr: string, options?: ErrorOptions) {
    super(`${command} failed with exit code ${exitCode ?? 'none (signal)'}: ${stderr.trim().split('\n').pop() ?? ''}`, options);
  }
}
