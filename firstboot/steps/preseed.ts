// Step 6: `microcloud preseed`. Forming: the cluster's preseed on stdin, on every node in
// overlapping windows (unicast: the initiator first). Joining, when peers have already formed
// the cluster without this node: an add session through one of them (join-formed.ts). Never
// run twice: MicroCloud refuses an initialised machine, so an existing cluster means done, and a
// half-formed one needs a person.
import { ConfigurationFailure, STEP_IDS, TemporaryFailure, type Step, type StepContext } from '../run/types.js';
import { formedPeers, joinFormedCluster } from './join-formed.js';
import { peerPollMs, pollUntil } from './poll.js';
import { microcloudInitialised, passphraseOf, runPreseed } from '../run/run-preseed.js';

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
    await runPreseed(ctx, text, secret, 'microcloud preseed');
  },
};
