// build-image revoke --node NAME: every card of NAME built until now stops working. Signs a
// revocation with the operator key and gives it to every member of the cluster file; each
// refuses, from then on, any ticket of NAME issued at or before this moment. A card built after
// this joins as usual. A member counts as having taken it only when its answer is signed by
// that node (as a status is: status-key.ts): anyone at a member's address could answer 200.
import { randomBytes } from 'node:crypto';
import { recordRevoked } from '../../revocations.js';
import { statusKey } from '../../status-key.js';
import { terminalText } from '../../terminal-text.js';
import { answerSignatures, answerSignedBy, HEADERS, requestDigest, type Trust } from '../../../firstboot/join/join-auth.js';
import { httpExchange, type ExchangeReply } from '../../../firstboot/run/http-exchange.js';
import { REVOKE_PATH, signRevocation, when } from '../../../firstboot/join/join-ticket.js';
import { loadCluster } from '../../config/load-cluster.js';
import { loadOperatorKey } from '../../config/secrets.js';
import { parseRevokeArgs } from '../args.js';
import type { CliIo, RunDeps } from '../io.js';
import { EXIT } from '../report-error.js';

const TIMEOUT_MS = 5000;

export type Outcome = { kind: 'accepted' } | { kind: 'refused'; status: number; reason: string } | { kind: 'no answer' } | { kind: 'unsigned' };

/** What a member's answer means, `signed` when the node at that address signed it for this request. Pure. */
export function outcomeOf(reply: ExchangeReply | undefined, signed: boolean): Outcome {
  if (!reply) return { kind: 'no answer' };
  if (reply.status === 200) return signed ? { kind: 'accepted' } : { kind: 'unsigned' };
  if (reply.status === 404)
    return { kind: 'refused', status: 404, reason: 'it takes no revocations: built before join tickets, it checks none (rebuild it to have it check them)' };
  return { kind: 'refused', status: reply.status, reason: reasonIn(reply.body) };
}

/** A refusal's reason: a JSON body's `reason` or `error`, or its first line of text. */
function reasonIn(body: string): string {
  try {
    const parsed = JSON.parse(body) as { reason?: unknown; error?: unknown };
    const reason = parsed.reason ?? parsed.error;
    if (typeof reason === 'string' && reason) return terminalText(reason); // a node chose it: no escapes reach the terminal
  } catch { /* not JSON: the text itself */ }
  // Only printable characters of one line: whatever answers at a member's address writes to this terminal.
  return body.split('\n')[0]!.replace(/[^\x20-\x7e]/g, '?').slice(0, 300) || 'no reason given';
}

const inWords = (o: Outcome): string =>
  o.kind === 'accepted' ? 'accepted' : o.kind === 'refused' ? `refused (HTTP ${o.status}: ${o.reason})`
    : o.kind === 'unsigned' ? 'answered that it took it, but the answer is not signed by this node for this revocation (not counted: someone else at its address, an old answer replayed, or a member built before node identities)'
      : `no answer within ${TIMEOUT_MS / 1000} s`;

/** POSTs the revocation to one node with a fresh nonce; its outcome, counted as accepted only on the node's own signed word. */
async function deliver(address: string, port: number, body: string, trust: Trust | undefined): Promise<Outcome> {
  const nonce = randomBytes(16).toString('hex');
  const reply = await httpExchange({
    method: 'POST', host: address, port, path: REVOKE_PATH, body,
    headers: { 'content-type': 'text/plain', [HEADERS.nonce]: nonce }, timeoutMs: TIMEOUT_MS, maxBytes: 16 * 1024,
  });
  const signed = !!reply && !!trust && !!answerSignedBy(trust,
    { kind: 'revoke', responder: address, nonce, status: reply.status, request: requestDigest(REVOKE_PATH, body) }, reply.body, answerSignatures(reply.headers));
  return outcomeOf(reply, signed);
}

export async function revokeCommand(argv: readonly string[], io: CliIo, deps: Pick<RunDeps, 'now'> = {}): Promise<number> {
  const options = parseRevokeArgs(argv);
  const { cluster } = await loadCluster(options.config);
  const key = await loadOperatorKey(options.config,
    io.env.MICROCLOUD_PI_OPERATOR_KEY !== undefined ? { operatorKeyFromEnv: io.env.MICROCLOUD_PI_OPERATOR_KEY } : {});
  if (!cluster.nodes.some((n) => n.name === options.node))
    io.stderr(`${options.node} is not in ${options.config}: revoking the tickets of cards built for it when it was.`);
  const trust = await statusKey(options.config, cluster.name, io.env, key);
  if (!trust.key)
    io.stderr('Without the cluster\'s join passphrase (session_passphrase in the secrets file beside the cluster file, or MICROCLOUD_PI_PASSPHRASE) '
      + 'no member\'s answer can be checked: the revocation is sent to every node, but none is counted as having taken it.');
  const before = (deps.now ?? Date.now)();
  const body = signRevocation(key, { cluster: cluster.name, node: options.node, before });
  // Kept here first: build-image status then takes no answer from those cards, whichever members take it.
  await recordRevoked(options.config, options.node, before);
  io.stderr(`Revoking every ticket of ${options.node} issued up to ${when(before)} on the ${cluster.nodes.length} nodes of ${options.config}...`);
  const outcomes = await Promise.all(cluster.nodes.map(async (n) => ({ node: n, outcome: await deliver(n.address, cluster.statusPort, body, trust.key) })));
  for (const { node, outcome } of outcomes) io.stdout(`${node.name} ${node.address}: ${inWords(outcome)}\n`);
  const accepted = outcomes.filter((o) => o.outcome.kind === 'accepted').length;
  if (accepted === 0) {
    io.stderr(`No member took the revocation, so ${options.node}'s cards built until now still join. Check that the members are up `
      + `and this machine reaches them on port ${cluster.statusPort} (build-image status --config ${options.config}), then run this again.`);
    return EXIT.revoke;
  }
  const missed = outcomes.length - accepted;
  io.stderr(missed
    ? `${accepted} of ${outcomes.length} nodes took it. A member that did not still admits ${options.node}'s old cards: `
      + 'run this again when it answers (members that are not up yet need nothing: a new node joins through a member).'
    : `Every node took it: ${options.node}'s cards built until now can no longer join. Build a new one with build-image --node ${options.node}.`);
  return 0;
}
