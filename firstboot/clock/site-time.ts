// The site's clock as `build-image serve` gives it: GET /time with a nonce header (the status
// endpoint's) answers the operator's computer's time, sealed with the operator's key for that nonce. A node takes it only
// under its cluster's operator key and for the nonce it just sent, so neither another machine on
// the network nor a recorded answer can set a Pi's clock. Pure; the HTTP ask is ask-site-time.ts.
import { isText, isTime, open, seal, type OperatorKey } from '../join/operator-seal.js';

export const TIME_PATH = '/time';

/** The answer's body: `now` for anyone (the live view, curl), `sealed` for the nodes. */
export interface SiteTimeAnswer { readonly now: number; readonly sealed?: string }

export function sealSiteTime(operatorKey: OperatorKey, cluster: string, nonce: string, now: number): string {
  return seal('time', operatorKey, { v: 1, cluster, nonce, now });
}

/** The time in a /time answer, when it is sealed by this cluster's operator for `nonce`; else why not. */
export function openSiteTime(operatorPublicKey: string, cluster: string, nonce: string, body: string):
  { ok: true; now: number } | { ok: false; reason: string } {
  let answer: Partial<SiteTimeAnswer>;
  try {
    answer = JSON.parse(body) as Partial<SiteTimeAnswer>;
  } catch {
    return { ok: false, reason: 'the answer is not JSON' };
  }
  if (typeof answer?.sealed !== 'string') return { ok: false, reason: 'the time is not sealed (serve has no operator key for this cluster)' };
  const opened = open('time', operatorPublicKey, answer.sealed);
  if (!opened.ok) return opened;
  const t = opened.value;
  if (!isText(t.cluster) || t.cluster !== cluster) return { ok: false, reason: 'it is sealed for another cluster' };
  if (t.nonce !== nonce) return { ok: false, reason: 'it answers another request (nonce)' };
  if (!isTime(t.now)) return { ok: false, reason: 'its payload has no time' };
  return { ok: true, now: t.now };
}
