// Joining a cluster that formed without this node (it was added to the cluster file later, or it
// replaces a dead Pi): ask one formed member to open an add session for it, then run this side
// of that session. Every new node asks the first member in the cluster file's order that
// answers, so several new nodes queue on one member rather than open sessions on several.
import { randomBytes } from 'node:crypto';
import { addRequestOf, checkPlan, renderAddPreseed, withSessionPassphrase, type AddRequest, type Member } from '../join/add-request.js';
import { cardSignRequest, deriveJoinKey, HEADERS, requestDigest, sessionPassphrase, signRequest, ticketMac } from '../join/join-auth.js';
import { certFingerprint, MICROCLOUD_SERVER_CERT } from '../join/microcloud-cert.js';
import { IDENTITY_HEADERS, NODE_KEY_PATH, nodeSigner } from '../join/node-identity.js';
import { openSecret, sessionPassphraseOf } from '../join/session-secret.js';
import { readJoinAnswer } from '../join/join-answer.js';
import { TICKET_HEADER } from '../join/join-ticket.js';
import { BATCH_PATH, JOIN_PATH } from '../join/send-join.js';
import type { NodeConfig } from '../../builder/render/node-config.js';
import { ConfigurationFailure, TemporaryFailure, type JoinAnswer, type NodeStatus, type StepContext } from '../run/types.js';
import { PartlyJoined, PRESEED_GRACE_SECONDS, runPreseed, type PreseedWatch } from '../run/run-preseed.js';
import { installSnaps, SNAP_ORDER } from './install-snaps.js';
import { jittered, peerPollMs, readPeerStatuses } from './poll.js';
import { JOINED_MARKER } from './verify.js';

export const JOIN_TIMEOUT_MS = 60 * 60_000;
/** Under the member's limit of six requests a minute. */
export const JOIN_RETRY_MS = 15_000;
/** Refusals that asking again may cure (401, a burnt nonce): at most this many rounds of fresh requests, pausing longer each time. */
export const MAX_REFUSED_ROUNDS = 6;
const MAX_RETRY_MS = 5 * 60_000;
/** How often a node in a batch asks whether its add session is open (in a small cluster: see peerPollMs). */
export const BATCH_POLL_MS = 10_000;
/** Beyond the session before its own (a batch waits for it), how long a node waits for its batch's session to open. */
const BATCH_GATHER_MS = 10 * 60_000;
/** A member that does not answer three polls in a row is gone (powered off, say): the batch is over for this node. */
const MAX_UNANSWERED_POLLS = 3;

/**
 * Peers that formed the cluster without this (uninitialised) node, the initiator first, then in the cluster file's order.
 * Done peers built from a cluster file without this node, or this node replaces a dead member
 * of its name: it is new. Done peers that count it among their founders: it is new only when
 * every peer that answers is done (a Pi put in place of a dead one without --replace; the member
 * then says how to replace it); while some are still forming, it is a founder running late.
 */
export function formedWithout(config: NodeConfig, statuses: readonly (NodeStatus | undefined)[]): Member[] {
  const formed = config.peers.filter((_, i) => statuses[i]?.step === 'done');
  if (!formed.length) return [];
  // A card speaks for its own node only, but for that node it can say anything: a lost card of a Pi
  // that never booted, answering at its address, could claim a cluster and draw this node into a
  // MicroCloud of its own. A formation always includes the initiator, so it is believed when the
  // initiator says so, or when two peers do (two cards), never on one other peer's word alone.
  const initiator = formed.find((p) => p.name === config.initiator);
  if (!initiator && formed.length < 2 && config.peers.length > 1) return [];
  const newcomer = config.join.replace || statuses.some((s) => s?.step === 'done' && !(s.formedWith ?? []).includes(config.node));
  if (!newcomer && !statuses.every((s) => s === undefined || s.step === 'done')) return [];
  return initiator ? [initiator, ...formed.filter((p) => p !== initiator)] : formed; // the initiator, a member for sure, first
}

/** Formed members to ask, and the nodes this one sees are new like itself. */
export async function formedPeers(ctx: StepContext): Promise<{ formed: Member[]; newcomers: string[] }> {
  const statuses = await readPeerStatuses(ctx);
  return { formed: formedWithout(ctx.config, statuses), newcomers: newcomersOf(ctx.config, statuses) };
}

/**
 * Peers (and this node) that are not members yet: not done, and not founders. The founders are
 * the names every done peer counts among them: a node that joined later counts its whole file
 * (it cannot know), so one peer's list alone would make every Pi still booting a founder. Pure.
 */
export function newcomersOf(config: NodeConfig, statuses: readonly (NodeStatus | undefined)[]): string[] {
  const lists = statuses.flatMap((s) => (s?.step === 'done' && s.formedWith ? [s.formedWith] : []));
  const founders = new Set(lists.length ? lists.reduce((common, list) => common.filter((n) => list.includes(n))) : []);
  return [config.node, ...config.peers.filter((p, i) => statuses[i]?.step !== 'done' && !founders.has(p.name)).map((p) => p.name)];
}

/** One signed request to a member and its answer, when that answer is signed for it. */
async function ask(ctx: StepContext, key: Buffer, member: Member, path: string, body: string):
  Promise<{ answer?: JoinAnswer; nonce: string; unsigned?: number }> {
  const { config } = ctx;
  const nonce = randomBytes(16).toString('hex');
  const signed = signRequest(key, { method: 'POST', path, member: member.address, sender: config.address }, body, ctx.clock.now(), nonce);
  const card = path === JOIN_PATH && config.join.identity
    ? nodeSigner(await ctx.files.read(NODE_KEY_PATH), config.join.identity, config.join.operatorKey) : undefined;
  const ticket: Record<string, string> = path === JOIN_PATH && config.join.ticket
    ? { [TICKET_HEADER]: config.join.ticket, [HEADERS.ticketMac]: ticketMac(key, nonce, config.join.ticket),
      // The key the member seals the session's secret to (session-secret.ts), and this card's own word that the request is its.
      ...(card ? { [IDENTITY_HEADERS.identity]: card.identity, [HEADERS.cardSignature]: cardSignRequest(card,
        { method: 'POST', path, member: member.address, sender: config.address }, body, signed.timestamp, nonce) } : {}) } : {};
  const reply = await ctx.sendJoin(member.address, config.statusPort, path,
    { [HEADERS.timestamp]: signed.timestamp, [HEADERS.nonce]: signed.nonce, [HEADERS.signature]: signed.signature, ...ticket }, body, config.address);
  // Built with an operator key, only the member the operator sealed for that address may answer (node-identity.ts).
  const trust = config.join.operatorKey ? { joinKey: key, operatorKey: config.join.operatorKey, cluster: config.cluster } : key;
  const answer = reply && readJoinAnswer(trust, member.address, nonce, reply, requestDigest(path, body));
  return { nonce, ...(answer ? { answer } : {}), ...(reply && !answer ? { unsigned: reply.status } : {}) };
}

/**
 * While this node's side of the session runs: the member's word on the batch. MicroCloud never
 * tells a joiner that the session failed (it would wait for session_timeout): the member does, and
 * a member that stops answering is gone with its session.
 */
function watchBatch(ctx: StepContext, key: Buffer, member: Member, batch: string, seen: { removed?: readonly string[] }): PreseedWatch {
  const body = JSON.stringify({ node: ctx.config.node, batch });
  return async (ended) => {
    let unanswered = 0;
    while (!ended.aborted) {
      await ctx.clock.sleep(jittered(peerPollMs(ctx.config.peers.length, BATCH_POLL_MS)));
      if (ended.aborted) return undefined;
      const { answer } = await ask(ctx, key, member, BATCH_PATH, body);
      if (answer && answer.status !== 200 && answer.status !== 202) {
        if (answer.removed) seen.removed = answer.removed;
        return `${member.name}: ${answer.reason ?? `HTTP ${answer.status}`}`;
      }
      unanswered = answer ? 0 : unanswered + 1;
      if (unanswered >= MAX_UNANSWERED_POLLS) return `${member.name} stopped answering`;
    }
    return undefined;
  };
}

/** The member's last word on a batch whose session failed: the nodes it removed again (undefined: it does not say). */
async function removedBy(ctx: StepContext, key: Buffer, member: Member, batch: string): Promise<readonly string[] | undefined> {
  for (let attempt = 0; attempt < MAX_UNANSWERED_POLLS * 2; attempt++) {
    const { answer } = await ask(ctx, key, member, BATCH_PATH, JSON.stringify({ node: ctx.config.node, batch }));
    if (answer && answer.status !== 200 && answer.status !== 202) return answer.removed ?? [];
    await ctx.clock.sleep(jittered(peerPollMs(ctx.config.peers.length, BATCH_POLL_MS)));
  }
  return undefined;
}

/**
 * MicroCloud had partly joined this node when its session failed. When the member says it removed
 * it again, this node clears what the snaps kept (upstream's way back for a machine removed from a
 * cluster: reinstall the snaps; canonical/microcloud issue 409, doc/how-to/member_remove.md) and
 * installs them afresh, then asks again. Otherwise only a person can sort it out.
 */
async function resetPartlyJoined(ctx: StepContext, member: Member, removed: readonly string[] | undefined, error: PartlyJoined): Promise<'over'> {
  const { node } = ctx.config;
  if (!removed?.includes(node))
    throw new PartlyJoined(`${error.message}. ${member.name} did not remove ${node} again: on a member run microcloud remove ${node} --force, `
      + `here snap remove --purge ${[...SNAP_ORDER].reverse().join(' ')}, then systemctl restart microcloud-pi-firstboot`);
  ctx.log.warn(`join: ${member.name} removed this partly joined node from the cluster; resetting its snaps before asking again`);
  for (const snap of [...SNAP_ORDER].reverse()) {
    ctx.report(`removing the partly joined ${snap} (the failed session left it)`);
    const ran = await ctx.run('snap', ['remove', '--purge', snap], { timeoutMs: 10 * 60_000 });
    if (ran.exitCode !== 0) throw new TemporaryFailure(`snap remove --purge ${snap} failed: ${ran.stderr.trim().split('\n').pop() ?? ''}; it will be retried`);
  }
  await installSnaps.run(ctx);
  return 'over';
}

/**
 * The fingerprint of the certificate this node's MicroCloud joins with (microcloud-cert.ts); the
 * daemon makes it when the snap first starts. undefined when it cannot be read: the member then
 * checks only the new member's address.
 */
async function ownFingerprint(ctx: StepContext): Promise<string | undefined> {
  for (let waited = 0; ; waited += CERT_POLL_MS) {
    const fingerprint = certFingerprint(await ctx.files.read(MICROCLOUD_SERVER_CERT));
    if (fingerprint) return fingerprint;
    // A card built without an operator key checks nothing per node anyway; one built with it is not added without its certificate.
    if (!ctx.config.join.operatorKey) {
      ctx.log.warn(`join: ${MICROCLOUD_SERVER_CERT} is missing or unreadable; the member can check only this node's address once it is added`);
      return undefined;
    }
    if (waited >= CERT_WAIT_MS)
      throw new TemporaryFailure(`${MICROCLOUD_SERVER_CERT} did not appear within ${CERT_WAIT_MS / 1000} s of installing microcloud `
        + '(its daemon makes it when it first starts: snap services microcloud); it will be retried');
    ctx.report(`waiting for MicroCloud's certificate (${MICROCLOUD_SERVER_CERT})`, 'waiting');
    await ctx.clock.sleep(CERT_POLL_MS);
  }
}
/** The microcloud daemon makes its certificate on its first start, seconds after the snap is installed. */
const CERT_POLL_MS = 2000;
const CERT_WAIT_MS = 120_000;

/**
 * The add session's passphrase. A card built with an operator key takes only the secret the
 * member sealed to it (session-secret.ts): the batch id travels in the clear, so a passphrase
 * derived from it and the join key would be any card holder's. undefined when there is none to open.
 */
async function passphraseFor(ctx: StepContext, key: Buffer, batch: string, answer: JoinAnswer): Promise<string | undefined> {
  const { config } = ctx;
  if (!config.join.operatorKey) return sessionPassphrase(key, batch);
  const own = nodeSigner(await ctx.files.read(NODE_KEY_PATH), config.join.identity, config.join.operatorKey);
  const secret = own && answer.sealed && answer.memberDh
    ? openSecret(answer.sealed, own.dhKey, answer.memberDh, { batch, node: config.node }) : undefined;
  return secret && sessionPassphraseOf(secret, batch);
}

/**
 * This node is in a batch on `member`: ask every BATCH_POLL_MS whether its add session is open,
 * then run this side of it with the member's plan. 'over' when the batch ended without it (it
 * failed, or the member restarted): the node asks to be added again.
 */
async function followBatch(ctx: StepContext, key: Buffer, member: Member, request: AddRequest, batch: string): Promise<'done' | 'over'> {
  const { config } = ctx;
  const deadline = ctx.clock.now() + (config.sessionTimeoutSeconds + PRESEED_GRACE_SECONDS) * 1000 + BATCH_GATHER_MS;
  const replacing = config.join.replace;
  let unanswered = 0;
  for (;;) {
    ctx.report(`waiting for ${member.name} to open the add session of its batch`, 'waiting');
    await ctx.clock.sleep(jittered(peerPollMs(config.peers.length, BATCH_POLL_MS)));
    const { answer } = await ask(ctx, key, member, BATCH_PATH, JSON.stringify({ node: config.node, batch }));
    if (answer?.status === 200) {
      const plan = checkPlan(answer.plan, member, request);
      if (!plan) {
        ctx.log.warn(`join: ${member.name} sent an add plan without this node as it asked; asking again`);
        return 'over';
      }
      const passphrase = await passphraseFor(ctx, key, batch, answer);
      if (!passphrase) {
        ctx.log.warn(`join: ${member.name} sent no session secret this node can open; asking again`);
        return 'over';
      }
      const preseed = renderAddPreseed(withSessionPassphrase(plan, passphrase));
      if (config.discovery === 'unicast') await ctx.clock.sleep(5000); // the member's session first
      const others = plan.systems.map((s) => s.name).filter((n) => n !== config.node);
      ctx.report(`joining the formed MicroCloud through ${member.name}${others.length ? ` with ${others.join(', ')}` : ''}`
        + `${replacing ? ` (replacing the dead ${config.node})` : ''}`);
      const seen: { removed?: readonly string[] } = {};
      try {
        await runPreseed(ctx, preseed, passphrase, `joining through ${member.name}`, watchBatch(ctx, key, member, batch, seen));
      } catch (error) {
        if (error instanceof PartlyJoined) return resetPartlyJoined(ctx, member, seen.removed ?? await removedBy(ctx, key, member, batch), error);
        // The session failed for the whole batch (another new node never came, say) and this node is
        // not initialised: it asks again and is added with the next batch.
        if (!(error instanceof TemporaryFailure)) throw error;
        ctx.log.warn(`join: ${error.message.replace(/; it will be retried$/, '')}; asking ${member.name} again`);
        return 'over';
      }
      await ctx.files.write(JOINED_MARKER, `${member.name}\n`, 0o600);
      return 'done';
    }
    if (answer && answer.status !== 202) {
      ctx.log.info(`join: ${member.name}: ${answer.reason ?? `HTTP ${answer.status}`}`);
      return 'over';
    }
    unanswered = answer ? 0 : unanswered + 1;
    if (unanswered >= MAX_UNANSWERED_POLLS) {
      ctx.log.warn(`join: ${member.name} stopped answering while this node waited in its batch; asking the members again`);
      return 'over';
    }
    if (ctx.clock.now() >= deadline) return 'over';
  }
}

export async function joinFormedCluster(ctx: StepContext, formed: readonly Member[], passphrase: string, newcomers: readonly string[] = []): Promise<void> {
  const { config } = ctx;
  const replacing = config.join.replace;
  if (!config.join.grow)
    throw new ConfigurationFailure(`${formed.map((m) => m.name).join(', ')} formed the cluster without ${config.node}, and `
      + `microcloud.grow is false: a person adds it (microcloud add on a member, microcloud join here)`);
  const key = ctx.joinKey ?? await deriveJoinKey(passphrase, config.cluster);
  // Read again every round: a node reset after a failed session joins with a new certificate.
  const requestNow = async () => addRequestOf(config, newcomers, await ownFingerprint(ctx));
  let request = await requestNow();
  let body = JSON.stringify(request);
  const deadline = ctx.clock.now() + JOIN_TIMEOUT_MS;
  let lastReason = '';
  let refusedRounds = 0;
  for (;;) {
    let waitingOn = '';
    let refused = false;
    let again = false;
    for (const member of formed) {
      ctx.record({ joining: { via: member.name, replacing } });
      ctx.report(`asking ${member.name} to add this node${replacing ? ` in place of the dead ${config.node}` : ''}`);
      const { answer, unsigned } = await ask(ctx, key, member, JOIN_PATH, body);
      if (!answer) {
        // No answer, or one not signed with this cluster's key for this request: nothing to act on.
        waitingOn = unsigned ? `${member.name} gave no answer signed with this cluster's keys (HTTP ${unsigned})` : `${member.name} does not answer`;
        if (unsigned) ctx.log.warn(`join: ${waitingOn}; not acted on`);
        continue; // the next member
      }
      const reason = answer.reason ?? `HTTP ${answer.status}`;
      if (answer.status === 202 && answer.batch) {
        ctx.log.info(`join: ${member.name} gathers this node into a batch for one add session`);
        if (await followBatch(ctx, key, member, request, answer.batch) === 'done') return;
        request = await requestNow();
        body = JSON.stringify(request);
        refusedRounds = 0;
        again = true; // the batch ended without this node: ask again soon (spread: its batch mates do the same)
        await ctx.clock.sleep(jittered(peerPollMs(config.peers.length, BATCH_POLL_MS)));
        break;
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
    if (again && ctx.clock.now() < deadline) continue;
    refusedRounds = refused ? refusedRounds + 1 : 0;
    if (refusedRounds > MAX_REFUSED_ROUNDS)
      throw new TemporaryFailure(`refused ${refusedRounds} times in a row (last: ${waitingOn}); it will be retried`);
    // A busy member: every new node waits on it, so they spread their asking; refusals back off.
    const retryInMs = refusedRounds ? Math.min(JOIN_RETRY_MS * 2 ** (refusedRounds - 1), MAX_RETRY_MS)
      : jittered(peerPollMs(config.peers.length, JOIN_RETRY_MS));
    if (ctx.clock.now() >= deadline)
      throw new TemporaryFailure(`could not join the formed cluster in ${JOIN_TIMEOUT_MS / 60_000} min: ${waitingOn}`);
    if (waitingOn !== lastReason) ctx.log.info(`join: ${waitingOn}; asking again in ${Math.round(retryInMs / 1000)} s`);
    lastReason = waitingOn;
    ctx.report(`waiting to join: ${waitingOn}`, 'waiting');
    await ctx.clock.sleep(retryInMs);
  }
}
