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

/**
 * Watches something while the preseed runs (the batch on the member, the initiator's status):
 * resolves with why the preseed should stop, or undefined once `signal` says it has ended. MicroCloud
 * does not tell a joiner that its session failed: the joiner would wait until `session_timeout`,
 * an hour by default (canonical/microcloud issue 597; cmd/microcloud/session.go and api/session.go
 * handleJoiningSession wait on the confirmation with no heartbeat).
 */
export type PreseedWatch = (signal: AbortSignal) => Promise<string | undefined>;

/**
 * This node is initialised, but its `microcloud preseed` did not end well: MicroCloud kept part of
 * the join (a joiner becomes a MicroCloud member before LXD, MicroCeph and MicroOVN join it:
 * cmd/microcloud/main_init.go addPeers, api/services.go servicesPut). A person, or the member
 * that ran the session, must remove it before it can join again.
 */
export class PartlyJoined extends ConfigurationFailure {
  override name = 'PartlyJoined';
}

/** `what` names the attempt in errors ("microcloud preseed", "joining through pi1"). */
export async function runPreseed(ctx: StepContext, text: string, secret: string | undefined, what: string, watch?: PreseedWatch): Promise<void> {
  const { config } = ctx;
  const ended = new AbortController();
  const stop = new AbortController();
  let stoppedBecause: string | undefined;
  // Stopping the client ends the session in the local daemon, with nothing kept on disk (api/session.go
  // sessionGet: the gateway's context ends with the websocket, and StopSession clears it): it can ask again at once.
  void watch?.(ended.signal).then((reason) => {
    if (reason === undefined || ended.signal.aborted) return;
    stoppedBecause = reason;
    stop.abort();
  }, () => undefined);
  const ran = await ctx.run('microcloud', ['preseed'], {
    input: text, timeoutMs: (config.sessionTimeoutSeconds + PRESEED_GRACE_SECONDS) * 1000, signal: stop.signal,
    ...(secret ? { secret: [secret] } : {}),
  }).finally(() => ended.abort());
  if (ran.exitCode === 0 && !ran.cancelled) return;
  // Redacted here too: an error message outlives the log line and reaches the status endpoint.
  const why = stoppedBecause !== undefined ? `stopped: ${stoppedBecause}`
    : ran.timedOut ? `timed out after ${config.sessionTimeoutSeconds + PRESEED_GRACE_SECONDS} s`
      : redact(lastLine(ran.stderr), secret ? [secret] : []);
  if (await microcloudInitialised(ctx))
    throw new PartlyJoined(`${what} failed after the cluster was partly formed (${why}); `
      + 'see the MicroCloud docs on recovering, then remove /var/lib/microcloud-pi/journal.json');
  throw new TemporaryFailure(`${what} failed (${why}); it will be retried`);
}
