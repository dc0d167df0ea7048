// The new node's side of the wire: POST a signed join request to a member's endpoint.
import type { JoinSender } from '../run/types.js';

export const sendJoin: JoinSender = async (address, port, headers, body) => {
  try {
    const response = await fetch(`http://${address}:${port}/join`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(30_000),
    });
    const answer = await response.json().catch(() => ({})) as { reason?: unknown };
    return { status: response.status, ...(typeof answer.reason === 'string' ? { reason: answer.reason } : {}) };
  } catch {
    return undefined;
  }
};
