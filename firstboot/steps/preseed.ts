// Step 6: `microcloud preseed`. Forming: the cluster's preseed on stdin, on every node in
// overlapping windows (unicast: the initiator first). Joining, when peers have already formed
// the cluster without this node: an add session through one of them (join-formed.ts). Never
// run twice: MicroCloud refuses an initialised machine, so an existing cluster means done, and a
// half-formed one needs a person.
import { ConfigurationFailure, STEP_IDS, TemporaryFailure, type Step, type StepContext } from '../run/types.js';
import { formedPeers, joinFormedCluster } from './join-formed.js';
import { jittered, peerPollMs, pollUntil } from './poll.js';
import { microcloudInitialised, passphraseOf, runPreseed, type PreseedWatch } from '../run/run-preseed.js';

/** Reads of the initiator that go unanswered in a row before a joiner takes it for dead. */
const MAX_UNANSWERED_READS = 3;
/** The initiator's steps while its formation session can still be open. */
const SESSION_STEPS = new Set(['preseed', 'verify', 'finish', 'done']);

/**
 * While a founder's formation preseed runs: the initiator's status. MicroCloud does not tell a
 * joiner that the initiator died or gave up (it waits for session_timeout, an hour by default;
 * canonical/microcloud issue 597): a joiner stops when the initiator stops answering, reports its
 * preseed failed, or is back at an earlier step (it restarted, and its session with it).
 */
export function watchInitiator(ctx: StepContext): PreseedWatch {
  const { config } = ctx;
  const initiator = config.peers.find((p) => p.name === config.initiator)!;
  return async (ended) => {
    let unanswered = 0;
    let inSession = false; // a joiner may reach out before the initiator gets to its preseed (multicast): only a step back counts
    while (!ended.aborted) {
      await ctx.clock.sleep(jittered(peerPollMs(config.peers.length, 10_000)));
      if (ended.aborted) return undefined;
      const s = await ctx.readPeer(initiator.address, config.statusPort);
      unanswered = s ? 0 : unanswered + 1;
      if (unanswered >= MAX_UNANSWERED_READS) return `the initiator ${initiator.name} stopped answering`;
      if (!s) continue;
      if (s.state === 'failed' && s.step === 'preseed') return `the initiator ${initiator.name} failed: ${s.lastError ?? 'no reason given'}`;
      if (SESSION_STEPS.has(s.step)) inSession = true;
      else if (inSession) return `the initiator ${initiator.name} started again (it is at ${s.step})`;
    }
    return undefined;
  };
}

const PREPARE_TIMEOUT_MS = 30 * 60_000;

async function waitForUnicastInitiator(ctx: StepContext): Promise<void> {
  const { config } = ctx;
  // A unicast joiner calls once: the initiator must already be in its session.
  const initiator = config.peers.find((p) => p.name === config.initiator)!;
  ctx.report(`waiting for the initiator ${initiator.name} to open its session`, 'waiting');
  // Every other node polls the initiator: less often in a large cluster.
  const open = await pollUntil(ctx.clock, PREPARE_TIMEOUT_MS, peerPollMs(config.peers.length, 2000), async () => {
    const s = await ctx.readPeer(initiator.address, config.statusPort);
    return s && (s.step === 'done' || STEP_IDS.indexOf(s.step) >= STEP_IDS.indexOf('preseed')) ? true : undefined;
  });
  if (!open) throw new TemporaryFailure(`the initiator ${initiator.name} did not start its session`);
  await ctx.clock.sleep(5000); // upstream's own tests give the initiator five seconds
}

export const preseed: Step = {
  id: 'preseed',
  isDone: microcloudInitialised,
  async run(ctx) {
    const { config } = ctx;
    const text = await ctx.files.read(config.preseedPath);
    if (text === undefined) throw new ConfigurationFailure(`${config.preseedPath} is missing; rebuild this node's image`);
    const secret = passphraseOf(text);
    const { formed, newcomers } = await formedPeers(ctx);
    if (formed.length) {
      if (!secret) throw new ConfigurationFailure(`${config.preseedPath} has no session_passphrase; rebuild this node's image`);
      await joinFormedCluster(ctx, formed, secret, newcomers);
      return;
    }
    if (config.discovery === 'unicast' && !config.isInitiator) await waitForUnicastInitiator(ctx);
    ctx.report(config.isInitiator ? 'initiating the MicroCloud' : `joining the MicroCloud of ${config.initiator}`);
    await runPreseed(ctx, text, secret, 'microcloud preseed', config.isInitiator ? undefined : watchInitiator(ctx));
  },
};
