// Running `microcloud preseed` once, whether this node forms the cluster or joins a formed one:
// the passphrase redacted from everything logged, and a failure sorted into "retry" or "a person
// must look" by whether MicroCloud got initialised on the way.
import { lastLine, redact } from './redact.js';
import { ConfigurationFailure, TemporaryFailure, type StepContext } from './types.js';

/** Past the session timeout: MicroCloud's own timeout ends a session first. */
export const PRESEED_GRACE_SECONDS = 300;

export async function microcloudInitialised(ctx: StepContext): Promise<boolean> {
  return (await ctx.run('microcloud', ['cluster', 'list', '--format', 'json'])).exitCode === 0;
}

/** The passphrase, so the runner can redact it from anything it logs. */
export function passphraseOf(preseed: string): string | undefined {
  const match = /^session_passphrase: (".*")\s*$/m.exec(preseed);
  if (!match) return undefined;
  try {
    return JSON.parse(match[1]!) as string;
  } catch {
    return undefined;
  }
}

/** `what` names the attempt in errors ("microcloud preseed", "joining through pi1"). */
export async function runPreseed(ctx: StepContext, text: string, secret: string | undefined, what: string): Promise<void> {
  const { config } = ctx;
  const ran = await ctx.run('microcloud', ['preseed'], {
    input: text, timeoutMs: (config.sessionTimeoutSeconds + PRESEED_GRACE_SECONDS) * 1000, ...(secret ? { secret: [secret] } : {}),
  });
  if (ran.exitCode === 0) return;
  // Redacted here too: an error message outlives the log line and reaches the status endpoint.
  const why = ran.timedOut ? `timed out after ${config.sessionTimeoutSeconds + PRESEED_GRACE_SECONDS} s`
    : redact(lastLine(ran.stderr), secret ? [secret] : []);
  if (await microcloudInitialised(ctx))
    throw new ConfigurationFailure(`${what} failed after the cluster was partly formed (${why}); `
      + 'see the MicroCloud docs on recovering, then remove /var/lib/microcloud-pi/journal.json');
  throw new TemporaryFailure(`${what} failed (${why}); it will be retried`);
}
