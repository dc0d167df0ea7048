// Joining a cluster that formed without this node (it was added to the cluster file later, or it
// replaces a dead Pi): ask one formed member to open an add session for it, then run this side
// of that session. Every new node asks the first member in the cluster file's order that
// answers, so several new nodes queue on one member rather than open sessions on several.
import { randomBytes } from 'node:crypto';
import { addRequestOf, planAddPreseed, renderAddPreseed, type Member } from '../join/add-request.js';
import { deriveJoinKey, HEADERS, sessionPassphrase, signRequest } from '../join/join-auth.js';
import { readJoinAnswer } from '../join/join-answer.js';
import { JOIN_PATH } from '../join/send-join.js';
import type { NodeConfig } from '../../builder/render/node-config.js';
import { ConfigurationFailure, TemporaryFailure, type NodeStatus, type StepContext } from '../run/types.js';
import { runPreseed } from '../run/run-preseed.js';

export const JOIN_TIMEOUT_MS = 60 * 60_000;
/** Under the member's limit of six requests a minute. */
export const JOIN_RETRY_MS = 15_000;
/** Refusals that asking again may cure (401, a burnt nonce): at most this many rounds of fresh requests, pausing longer each time. */
export const MAX_REFUSED_ROUNDS = 6;
const MAX_RETRY_MS = 5 * 60_000;

/**
 * Peers that formed the cluster without this (uninitialised) node, in the cluster file's order.
 * Done peers built from a cluster file without this node, or this node replaces a dead member
 * of its name: it is new. Done peers that count it among their founders: it is new only when
 * every peer that answers is done (a Pi put in place of a dead one without --replace; the member
 * then says how to replace it); while some are still forming, it is a founder running late.
 */
export function formedWithout(config: NodeConfig, statuses: readonly (NodeStatus | undefined)[]): Member[] {
  const formed = config.peers.filter((_, i) => statuses[i]?.step === 'done');
  if (!formed.length) return [];
  const newcomer = config.join.replace || statuses.some((s) => s?.step === 'done' && !(s.formedWith ?? []).includes(config.node));
  return newcomer || statuses.every((s) => s === undefined || s.step === 'done') ? formed : [];
}

export async function formedPeers(ctx: StepContext): Promise<Member[]> {
  return formedWithout(ctx.config, await Promise.all(ctx.config.peers.map((p) => ctx.readPeer(p.address, ctx.config.statusPort))));
}

export async function joinFormedCluster(ctx: StepContext, formed: readonly Member[], passphrase: string): Promise<void> {
  const { config } = ctx;
  const replacing = config.join.replace;
  if (!config.join.grow)
    throw new ConfigurationFailure(`${formed.map((m) => m.name).join(', ')} formed the cluster without ${config.node}, and `
      + `microcloud.grow is false: a person adds it (microcloud add on a member, microcloud join here)`);
  const key = ctx.joinKey ?? await deriveJoinKey(passphrase, config.cluster);
  const request = addRequestOf(config);
  const body = JSON.stringify(request);
  const deadline = ctx.clock.now() + JOIN_TIMEOUT_MS;
  let lastReason = '';
  let refusedRounds = 0;
  for (;;) {
    let waitingOn = '';
    let refused = false;
    for (const member of formed) {
      const nonce = randomBytes(16).toString('hex');
      const signed = signRequest(key, { method: 'POST', path: JOIN_PATH, member: member.address, sender: config.address },
        body, ctx.clock.now(), nonce);
      ctx.record({ joining: { via: member.name, replacing } });
      ctx.report(`asking ${member.name} to add this node${replacing ? ` in place of the dead ${config.node}` : ''}`);
      const reply = await ctx.sendJoin(member.address, config.statusPort,
        { [HEADERS.timestamp]: signed.timestamp, [HEADERS.nonce]: signed.nonce, [HEADERS.signature]: signed.signature }, body, config.address);
      const answer = reply && readJoinAnswer(key, nonce, reply);
      if (!answer) {
        // No answer, or one not signed with this cluster's key for this request: nothing to act on.
        waitingOn = reply ? `${member.name} gave no answer signed with this cluster's key (HTTP ${reply.status})` : `${member.name} does not answer`;
        if (reply) ctx.log.warn(`join: ${waitingOn}; not acted on`);
        continue; // the next member
      }
      const reason = answer.reason ?? `HTTP ${answer.status}`;
      if (answer.status === 202) {
        const passphrase = sessionPassphrase(key, nonce);
        const preseed = renderAddPreseed(planAddPreseed(config, member, request, passphrase));
        if (config.discovery === 'unicast') await ctx.clock.sleep(5000); // the member's session first
        ctx.report(`joining the formed MicroCloud through ${member.name}${replacing ? ` (replacing the dead ${config.node})` : ''}`);
        await runPreseed(ctx, preseed, passphrase, `joining through ${member.name}`);
        return;
      }
      if (answer.final) throw new ConfigurationFailure(`${member.name} refused to add this node: ${reason}`);
      if (answer.status === 503 || answer.status === 429) {
        refused = false;
        waitingOn = reason;
        break; // queue on this member: never a second session on another one at the same time
      }
      // Refused for now (a clock off after the member's reboot, a request that was tampered with):
      // no session was opened for it, so the next member may be asked; then fresh requests after a
      // growing pause, a bounded number of times.
      refused = true;
      waitingOn = `${member.name} refused the request (${reason}); asking again with a fresh one`;
      ctx.log.info(`join: ${waitingOn}`);
    }
    refusedRounds = refused ? refusedRounds + 1 : 0;
    if (refusedRounds > MAX_REFUSED_ROUNDS)
      throw new TemporaryFailure(`refused ${refusedRounds} times in a row (last: ${waitingOn}); it will be retried`);
    const retryInMs = refusedRounds ? Math.min(JOIN_RETRY_MS * 2 ** (refusedRounds - 1), MAX_RETRY_MS) : JOIN_RETRY_MS;
    if (ctx.clock.now() >= deadline)
      throw new TemporaryFailure(`could not join the formed cluster in ${JOIN_TIMEOUT_MS / 60_000} min: ${waitingOn}`);
    if (waitingOn !== lastReason) ctx.log.info(`join: ${waitingOn}; asking again in ${Math.round(retryInMs / 1000)} s`);
    lastReason = waitingOn;
    ctx.report(`waiting to join: ${waitingOn}`, 'waiting');
    await ctx.clock.sleep(retryInMs);
  }
}
