// Step 5: every peer has passed its preflight, as its status endpoint says. Pis boot minutes
// apart; the MicroCloud lookup window is short, so nobody starts the preseed before all are ready.
// A peer that reports the cluster formed without this node: it joins instead (preseed step).
import { formedWithout } from './join-formed.js';
import { firstPollDelayMs, jittered, peerPollMs, readPeerStatuses } from './poll.js';
import { STEP_IDS, TemporaryFailure, type NodeStatus, type Step, type StepId } from '../run/types.js';

export const PEER_TIMEOUT_MS = 60 * 60_000;
/** Every peer reads all the others this often in a small cluster; less often in a large one (poll.ts). */
export const PEER_POLL_MS = 5000;
const READY_FROM: StepId = 'wait-peers';

export const peerIsReady = (status: NodeStatus | undefined): boolean =>
  !!status && (status.step === 'done' || STEP_IDS.indexOf(status.step) >= STEP_IDS.indexOf(READY_FROM));

/** A peer that stopped says why on its status: name it with that, so the operator knows whom to fix. */
function waitingFor(name: string, status: NodeStatus | undefined): string {
  if (status?.state !== 'failed') return name;
  const reason = (status.lastError ?? '').split('\n')[0]!.replace(/:$/, '');
  return status.needsPerson ? `${name} (stopped at ${status.step}${reason ? `: ${reason}` : ''}; fix that node, then rebuild and reflash it)`
    : `${name} (failed at ${status.step}${reason ? `: ${reason}` : ''}; it retries by itself)`;
}

export const waitPeers: Step = {
  id: 'wait-peers',
  isDone: async () => false, // only waits
  async run(ctx) {
    const deadline = ctx.clock.now() + PEER_TIMEOUT_MS;
    await ctx.clock.sleep(firstPollDelayMs(ctx.config.peers.length));
    for (;;) {
      const statuses = await readPeerStatuses(ctx);
      if (formedWithout(ctx.config, statuses).length) return;
      const missing = ctx.config.peers.flatMap((p, i) => (peerIsReady(statuses[i]) ? [] : [waitingFor(p.name, statuses[i])]));
      if (!missing.length) return;
      const detail = `waiting for ${missing.join(', ')}`;
      if (ctx.clock.now() >= deadline)
        throw new TemporaryFailure(`${detail}: not ready after ${PEER_TIMEOUT_MS / 60_000} min; check that they are powered and cabled`);
      ctx.report(detail, 'waiting');
      await ctx.clock.sleep(jittered(peerPollMs(ctx.config.peers.length, PEER_POLL_MS)));
    }
  },
};
