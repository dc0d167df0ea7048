// Asks `build-image serve` for the site's clock (site-time.ts) and takes the answer only when the
// operator sealed it for this request. Half the round trip is added: on a LAN that is a
// millisecond or two, well inside what the clocks need to agree on before NTP arrives.
import { randomBytes } from 'node:crypto';
import { HEADERS } from '../join/join-auth.js';
import { httpExchange } from '../run/http-exchange.js';
import type { Clock, SiteTimeAsker } from '../run/types.js';
import { openSiteTime, TIME_PATH } from './site-time.js';

/** The asker for steps: from this node's own address, on its clock. */
export const siteTimeAsker = (clock: Clock, from?: string): SiteTimeAsker => (server, trust) => askSiteTime(server, trust, clock, from);

export async function askSiteTime(server: Parameters<SiteTimeAsker>[0], trust: Parameters<SiteTimeAsker>[1], clock: Clock,
  from?: string, timeoutMs = 3000): ReturnType<SiteTimeAsker> {
  const nonce = randomBytes(16).toString('hex');
  const sent = clock.now();
  const reply = await httpExchange({
    method: 'GET', host: server.address, port: server.port, path: TIME_PATH, headers: { [HEADERS.nonce]: nonce },
    timeoutMs, maxBytes: 4096, ...(from ? { from } : {}),
  });
  if (!reply) return { ok: false, reason: 'no answer' };
  if (reply.status !== 200) return { ok: false, reason: `HTTP ${reply.status}` };
  const opened = openSiteTime(trust.operatorKey, trust.cluster, nonce, reply.body);
  return opened.ok ? { ok: true, now: opened.now + Math.round((clock.now() - sent) / 2) } : opened;
}
