// Step 5: `microcloud preseed` with the cluster's preseed on stdin, on every node in overlapping
// windows (unicast: the initiator first). Never run twice: MicroCloud refuses an initialised
// machine, so an existing cluster means done, and a half-formed one needs a person.
import { ConfigurationFailure, STEP_IDS, TemporaryFailure, type Step, type StepContext } from '../run/types.js';
import { redact } from '../run/redact.js';
import { lastLine } from './install-snaps.js';
import { pollUntil } from './poll.js';

const GRACE_SECONDS = 300;

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

export const preseed: Step = {
  id: 'preseed',
  isDone: microcloudInitialised,
  async run(ctx) {
    const { config } = ctx;
    const text = await ctx.files.read(config.preseedPath);
    if (text === undefined) throw new ConfigurationFailure(`${config.preseedPath} is missing; rebuild this node's image`);
    if (config.discovery === 'unicast' && !config.isInitiator) {
      // A unicast joiner calls once: the initiator must already be in its session.
      const initiator = config.peers.find((p) => p.name === config.initiator)!;
      ctx.report(`waiting for the initiator ${initiator.name} to open its session`, 'waiting');
      const open = await pollUntil(ctx.clock, PREPARE_TIMEOUT_MS, 2000, async () => {
        const s = await ctx.readPeer(initiator.address, config.statusPort);
        return s && (s.step === 'done' || STEP_IDS.indexOf(s.step) >= STEP_IDS.indexOf('preseed')) ? true : undefined;
      });
      if (!open) throw new TemporaryFailure(`the initiator ${initiator.name} did not start its session`);
      await ctx.clock.sleep(5000); // upstream's own tests give the initiator five seconds
    }
    ctx.report(config.isInitiator ? 'initiating the MicroCloud' : `joining the MicroCloud of ${config.initiator}`);
    const secret = passphraseOf(text);
    const ran = await ctx.run('microcloud', ['preseed'], {
      input: text, timeoutMs: (config.sessionTimeoutSeconds + GRACE_SECONDS) * 1000, ...(secret ? { secret: [secret] } : {}),
    });
    if (ran.exitCode === 0) return;
    // Redacted here too: an error message outlives the log line and reaches the status endpoint.
    const why = ran.timedOut ? `timed out after ${config.sessionTimeoutSeconds + GRACE_SECONDS} s`
      : redact(lastLine(ran.stderr), secret ? [secret] : []);
    if (await microcloudInitialised(ctx))
      throw new ConfigurationFailure(`microcloud preseed failed after the cluster was partly formed (${why}); `
        + 'see the MicroCloud docs on recovering, then remove /var/lib/microcloud-pi/journal.json');
    throw new TemporaryFailure(`microcloud preseed failed (${why}); it will be retried`);
  },
};

const PREPARE_TIMEOUT_MS = 30 * 60_000;
