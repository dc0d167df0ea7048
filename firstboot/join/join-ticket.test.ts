import { generateKeyPairSync } from 'node:crypto';
import {
  checkTicket, issueTicket, MAX_ISSUE_SKEW_MS, operatorPublicKey, readRevocation, readTicket, signRevocation,
  type TicketCheck, type TicketFields,
} from './join-ticket.js';

const newKey = () => generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
const OPERATOR = newKey();
const PUBLIC = operatorPublicKey(OPERATOR);
const DAY = 86_400_000;
const ISSUED = Date.UTC(2026, 10, 1, 9, 0, 0);
const NOW = ISSUED + 3 * DAY;

const fields = (more: Partial<TicketFields> = {}): TicketFields =>
  ({ cluster: 'shelf', node: 'pi7', address: '10.0.0.17', replace: false, issued: ISSUED, expires: ISSUED + 28 * DAY, ...more });

/** What a member checks for pi7 asking from 10.0.0.17, with a good ticket, unless the row says otherwise. */
const check = (more: Partial<TicketCheck> = {}): TicketCheck => ({
  ticketText: issueTicket(OPERATOR, fields()), publicKey: PUBLIC, cluster: 'shelf', node: 'pi7', address: '10.0.0.17',
  replace: false, nowMs: NOW, revocations: [], spent: {}, ...more,
});

describe('a join ticket', () => {
  it('admits the node it was built for, at its address, before it expires', () => {
    expect(checkTicket(check())).toEqual({ ok: true, ticket: { v: 1, ...fields() } });
  });

  it('admits a --replace card asking to replace, and a later ticket of a node that joined (its replacement)', () => {
    const replacing = issueTicket(OPERATOR, fields({ replace: true, issued: ISSUED + DAY }));
    expect(checkTicket(check({ ticketText: replacing, replace: true, spent: { pi7: ISSUED } }))).toMatchObject({ ok: true });
  });

  it('admits a ticket issued a little after the member\'s clock (the builder\'s clock is not synchronised)', () => {
    const ahead = issueTicket(OPERATOR, fields({ issued: NOW + MAX_ISSUE_SKEW_MS - 1000 }));
    expect(checkTicket(check({ ticketText: ahead }))).toMatchObject({ ok: true });
  });

  it('is the same text for the same key, fields and time (a card renders the same bytes)', () => {
    expect(issueTicket(OPERATOR, fields())).toBe(issueTicket(OPERATOR, fields()));
    expect(issueTicket(OPERATOR, fields()).length).toBeLessThan(400); // fits an HTTP header
  });

  it('takes the public key as the raw 32 bytes or as an SPKI', () => {
    const spki = generateKeyPairSync('ed25519');
    const key = spki.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    const spkiText = spki.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const ticket = issueTicket(key, fields());
    expect(readTicket(spkiText, ticket)).toMatchObject({ ok: true });
    expect(readTicket(operatorPublicKey(key), ticket)).toMatchObject({ ok: true });
  });
});

const tamper = (text: string) => {
  const [payload, signature] = text.split('.') as [string, string];
  const body = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  return `${Buffer.from(JSON.stringify({ ...body, node: 'pi8' })).toString('base64url')}.${signature}`;
};

interface Row { name: string; more: () => Partial<TicketCheck>; reason: RegExp; final?: boolean }

// One row per way a card must be refused; each reason says what to do.
const rows: Row[] = [
  { name: 'a card built before join tickets (no ticket)', more: () => ({ ticketText: undefined }),
    reason: /pi7's card carries no join ticket.*rebuild this card with build-image --node pi7\./ },
  { name: 'a ticket signed by another operator key', more: () => ({ ticketText: issueTicket(newKey(), fields()) }),
    reason: /not this cluster's: its signature does not hold.*another cluster.*build-image --node pi7 from the cluster's own secrets file/ },
  { name: 'a ticket whose payload was edited', more: () => ({ ticketText: tamper(issueTicket(OPERATOR, fields())) }),
    reason: /signature does not hold/ },
  { name: 'a ticket that is not one', more: () => ({ ticketText: 'hunter2' }), reason: /not a payload and a signature/ },
  { name: 'a ticket over the size limit', more: () => ({ ticketText: 'a'.repeat(5000) }), reason: /over 2048 characters/ },
  { name: 'a revocation sent as a ticket', more: () => ({ ticketText: signRevocation(OPERATOR, { cluster: 'shelf', node: 'pi7', before: NOW }) }),
    reason: /signature does not hold/ },
  { name: 'a ticket of another cluster signed with the same key', more: () => ({ ticketText: issueTicket(OPERATOR, fields({ cluster: 'lab' })) }),
    reason: /for cluster lab, not shelf/ },
  { name: 'a card built for another node', more: () => ({ ticketText: issueTicket(OPERATOR, fields({ node: 'pi8', address: '10.0.0.18' })) }),
    reason: /for node pi8, not pi7: a card joins only as the node it was built for.*build-image --node pi7/ },
  { name: 'a card asking from another address', more: () => ({ address: '10.0.0.99' }),
    reason: /for pi7 at 10\.0\.0\.17, but the request comes from 10\.0\.0\.99.*rebuild this card/ },
  { name: 'a plain card asking to replace a member', more: () => ({ replace: true }),
    reason: /asks to replace a member, but its ticket was not built for that: rebuild this card with build-image --node pi7 --replace/ },
  { name: 'a ticket past its day', more: () => ({ nowMs: ISSUED + 28 * DAY }),
    reason: /expired 2026-11-29T09:00:00Z.*join_ticket_days.*rebuild this card with build-image --node pi7\./ },
  { name: 'a ticket issued after the member\'s clock', more: () => ({ ticketText: issueTicket(OPERATOR, fields({ issued: NOW + MAX_ISSUE_SKEW_MS + 1 })) }),
    reason: /after this member's clock.*set the clock/, final: false },
  { name: 'a ticket issued before its node\'s revocation', more: () => ({ revocations: [{ node: 'pi3', before: NOW }, { node: 'pi7', before: ISSUED }] }),
    reason: /tickets of pi7 issued up to 2026-11-01T09:00:00Z were revoked \(build-image revoke --node pi7\).*rebuild this card/ },
  { name: 'a ticket of a node that joined with it', more: () => ({ spent: { pi7: ISSUED } }),
    reason: /pi7 already joined with a ticket issued 2026-11-01T09:00:00Z.*once.*build-image --node pi7 --replace/ },
  { name: 'an older ticket of a node that was replaced since', more: () => ({ spent: { pi7: ISSUED + DAY } }),
    reason: /already joined/ },
  { name: 'a member whose own operator key is broken', more: () => ({ publicKey: 'bm90IGEga2V5' }),
    reason: /this member cannot check join tickets.*ask another member/, final: false },
];

describe('a join ticket is refused', () => {
  it.each(rows)('for $name', ({ more, reason, final }) => {
    const verdict = checkTicket(check(more()));
    expect(verdict).toEqual({ ok: false, reason: expect.stringMatching(reason), final: final ?? true });
  });

  it('by name only: a revocation or a spent ticket of another node changes nothing', () => {
    expect(checkTicket(check({ revocations: [{ node: 'pi3', before: NOW }], spent: { pi3: NOW, constructor: NOW } }))).toMatchObject({ ok: true });
  });

  it('when revoked even if a later revocation of the node came first in the list', () => {
    const verdict = checkTicket(check({ revocations: [{ node: 'pi7', before: ISSUED - DAY }, { node: 'pi7', before: ISSUED + 1 }] }));
    expect(verdict).toMatchObject({ ok: false, reason: expect.stringMatching(/revoked/) });
  });
});

describe('a revocation', () => {
  const text = signRevocation(OPERATOR, { cluster: 'shelf', node: 'pi7', before: NOW });

  it('reads back as signed, for its cluster', () => {
    expect(readRevocation(PUBLIC, text, 'shelf')).toEqual({ ok: true, revocation: { v: 1, cluster: 'shelf', node: 'pi7', before: NOW } });
  });

  it.each([
    ['signed by another key', () => readRevocation(operatorPublicKey(newKey()), text), /refused: its signature does not hold/],
    ['for another cluster', () => readRevocation(PUBLIC, text, 'lab'), /is for cluster shelf, not lab/],
    ['a ticket sent as a revocation', () => readRevocation(PUBLIC, issueTicket(OPERATOR, fields())), /signature does not hold/],
    ['empty', () => readRevocation(PUBLIC, ''), /not a payload and a signature/],
  ])('is refused when %s', (_name, read, reason) => {
    expect(read()).toEqual({ ok: false, reason: expect.stringMatching(reason) });
  });
});
