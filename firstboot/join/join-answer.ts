// The two ends of a join answer: what a member sends ({ok: true}, or the reason and whether only
// a person can change it), signed for the request's nonce, and the joiner's reading of it, which
// trusts nothing unsigned (an answer anyone on the network could have sent is no answer).
import { answerSignedBy, type Trust } from './join-auth.js';
import type { HttpReply, JoinAnswer } from '../run/types.js';

export const joinAnswerBody = (answer: JoinAnswer): string => `${JSON.stringify(answer.status === 200 || answer.status === 202
  ? { ok: true, ...(answer.batch ? { batch: answer.batch } : {}), ...(answer.plan ? { plan: answer.plan } : {}), ...(answer.sealed ? { sealed: answer.sealed } : {}) }
  : { reason: answer.reason ?? '', ...(answer.final ? { final: true } : {}), ...(answer.removed?.length ? { removed: answer.removed } : {}) })}\n`;

/** The answer of the member at `member`, when it is signed for this request's nonce (and `request`: its requestDigest) as `trust` asks (join-auth.ts); undefined otherwise. */
export function readJoinAnswer(trust: Trust, member: string, nonce: string, reply: HttpReply, request?: string): JoinAnswer | undefined {
  const signer = answerSignedBy(trust, { kind: 'join', responder: member, nonce, status: reply.status, ...(request ? { request } : {}) }, reply.body, reply);
  if (!signer) return undefined;
  let parsed: { reason?: unknown; final?: unknown; batch?: unknown; plan?: unknown; removed?: unknown; sealed?: unknown } = {};
  try {
    parsed = JSON.parse(reply.body) as typeof parsed;
  } catch { /* signed, but not JSON: the status alone */ }
  return { status: reply.status, ...(typeof parsed.reason === 'string' ? { reason: parsed.reason } : {}), ...(parsed.final === true ? { final: true } : {}),
    ...(typeof parsed.batch === 'string' ? { batch: parsed.batch } : {}), ...(parsed.plan !== undefined ? { plan: parsed.plan } : {}),
    ...(typeof parsed.sealed === 'string' ? { sealed: parsed.sealed } : {}), ...(signer.dh ? { memberDh: signer.dh } : {}),
    ...(Array.isArray(parsed.removed) && parsed.removed.every((n) => typeof n === 'string') ? { removed: parsed.removed as string[] } : {}) };
}
