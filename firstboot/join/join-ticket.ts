// Join tickets: the operator's signed word that one card may add one node, under one name, at
// one address, until a set day. The join passphrase on every card proves a request comes from
// this cluster's cards; a ticket says which card, so a lost card or a key lifted off a booted
// Pi admits nobody but the node it was built for, and only until that node has joined, its
// tickets are revoked (`build-image revoke`) or the ticket expires. Ed25519 from node:crypto:
// signatures are deterministic, so every function here is a pure function of its inputs (the
// clock is passed in) and a card renders the same bytes for the same key and issue time.
import { isText, isTime, MAX_SEALED_CHARS, open, publicKeyOf, rawPublicKey, seal, type OperatorKey } from './operator-seal.js';

export type { OperatorKey } from './operator-seal.js';

/** Where a member takes revocations: `build-image revoke` POSTs one there, the text as the body. */
export const REVOKE_PATH = '/join/revoke';
/**
 * The header a join request carries its card's ticket in. Not in the body: members built before
 * join tickets refuse a body with a field they do not know, but ignore a header, so new cards still
 * join them. The ticket is signed by the operator and names its node and address, which the member
 * checks against the signed body and the request's source.
 */
export const TICKET_HEADER = 'x-mcpi-ticket';
/** Tickets and revocations are about 300 characters; anything much longer is not one. */
export const MAX_TICKET_CHARS = MAX_SEALED_CHARS;
/** How far a ticket's issue time may be ahead of a member's clock (the builder's clock is not NTP-synchronised). */
export const MAX_ISSUE_SKEW_MS = 5 * 60_000;

export interface TicketFields {
  readonly cluster: string;
  readonly node: string;
  /** The node's intra-cluster address: the one its join requests come from. */
  readonly address: string;
  /** Built with --replace: may take over a dead member of its name. */
  readonly replace: boolean;
  /** Milliseconds since the epoch. */
  readonly issued: number;
  readonly expires: number;
}
export interface JoinTicket extends TicketFields { readonly v: 1 }

export interface RevocationFields {
  readonly cluster: string;
  readonly node: string;
  /** Every ticket of `node` issued at or before this (ms) is refused. */
  readonly before: number;
}
export interface Revocation extends RevocationFields { readonly v: 1 }

/** The operator's public half, as node.json carries it: the raw 32-byte key, base64. */
export const operatorPublicKey = (privateKey: OperatorKey): string => rawPublicKey(privateKey);

/** A ticket for one card. Pure: the same key and fields give the same text. */
export function issueTicket(privateKey: OperatorKey, fields: TicketFields): string {
  const { cluster, node, address, replace, issued, expires } = fields;
  return seal('ticket', privateKey, { v: 1, cluster, node, address, replace, issued, expires });
}

/** The ticket in `text` if the operator signed it; nothing in it is trusted otherwise. */
export function readTicket(publicKey: string, text: string): { ok: true; ticket: JoinTicket } | { ok: false; reason: string } {
  const opened = open('ticket', publicKey, text);
  if (!opened.ok) return opened;
  const t = opened.value;
  if (!isText(t.cluster) || !isText(t.node) || !isText(t.address) || typeof t.replace !== 'boolean' || !isTime(t.issued) || !isTime(t.expires))
    return { ok: false, reason: 'its payload lacks cluster, node, address, replace, issued or expires' };
  return { ok: true, ticket: { v: 1, cluster: t.cluster, node: t.node, address: t.address, replace: t.replace, issued: t.issued, expires: t.expires } };
}

/** Tickets of `node` issued at or before `before` are refused. */
export function signRevocation(privateKey: OperatorKey, fields: RevocationFields): string {
  const { cluster, node, before } = fields;
  return seal('revocation', privateKey, { v: 1, cluster, node, before });
}

/** The revocation in `text` if the operator signed it; with `cluster`, only one for that cluster. */
export function readRevocation(publicKey: string, text: string, cluster?: string):
  { ok: true; revocation: Revocation } | { ok: false; reason: string } {
  const opened = open('revocation', publicKey, text);
  if (!opened.ok) return { ok: false, reason: `the revocation is refused: ${opened.reason}` };
  const r = opened.value;
  if (!isText(r.cluster) || !isText(r.node) || !isTime(r.before))
    return { ok: false, reason: 'the revocation is refused: its payload lacks cluster, node or before' };
  if (cluster !== undefined && r.cluster !== cluster)
    return { ok: false, reason: `the revocation is for cluster ${r.cluster}, not ${cluster}` };
  return { ok: true, revocation: { v: 1, cluster: r.cluster, node: r.node, before: r.before } };
}

export interface TicketCheck {
  /** The ticket the joiner sent; undefined when it sent none (a card built before join tickets). */
  readonly ticketText: string | undefined;
  /** The operator's public key from this member's node.json. */
  readonly publicKey: string;
  /** What the join request is for: this member's cluster, and the node, address and replace flag asked for. */
  readonly cluster: string;
  readonly node: string;
  readonly address: string;
  readonly replace: boolean;
  readonly nowMs: number;
  readonly revocations: readonly { readonly node: string; readonly before: number }[];
  /** Node -> issue time of the ticket that last joined under that name. */
  readonly spent: Readonly<Record<string, number>>;
}

/** `final`: this card can never join with this ticket (a person must rebuild it); otherwise it may later. */
export type TicketVerdict = { ok: true; ticket: JoinTicket } | { ok: false; reason: string; final: boolean };

/** A moment as people read it in a message, to the second. */
export const when = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** May this ticket add `node` at `address` now? Cheapest and most telling checks first; pure. */
export function checkTicket(c: TicketCheck): TicketVerdict {
  const rebuild = `rebuild this card with build-image --node ${c.node}${c.replace ? ' --replace' : ''}`;
  const refuse = (reason: string, final = true): TicketVerdict => ({ ok: false, reason, final });
  if (c.ticketText === undefined || c.ticketText === '')
    return refuse(`${c.node}'s card carries no join ticket (it was built before join tickets, or without an operator key): ${rebuild}.`);
  if (!publicKeyOf(c.publicKey))
    return refuse('this member cannot check join tickets: its node.json join.operatorKey is not an Ed25519 public key; ask another member.', false);
  const read = readTicket(c.publicKey, c.ticketText);
  if (!read.ok)
    return refuse(`${c.node}'s join ticket is not this cluster's: ${read.reason} (a card of another cluster, or built from another `
      + `secrets file): ${rebuild} from the cluster's own secrets file.`);
  const t = read.ticket;
  if (t.cluster !== c.cluster)
    return refuse(`the join ticket is for cluster ${t.cluster}, not ${c.cluster}: build this card from ${c.cluster}'s cluster file.`);
  if (t.node !== c.node)
    return refuse(`the join ticket is for node ${t.node}, not ${c.node}: a card joins only as the node it was built for; `
      + `to add ${c.node}, build its own card with build-image --node ${c.node}.`);
  if (t.address !== c.address)
    return refuse(`the join ticket is for ${t.node} at ${t.address}, but the request comes from ${c.address}: give ${t.node} `
      + `its address back, or, if the cluster file moved it, ${rebuild}.`);
  if (c.replace && !t.replace)
    return refuse(`${c.node} asks to replace a member, but its ticket was not built for that: rebuild this card with `
      + `build-image --node ${c.node} --replace.`);
  if (t.issued > c.nowMs + MAX_ISSUE_SKEW_MS)
    return refuse(`the join ticket was issued ${when(t.issued)}, after this member's clock (${when(c.nowMs)}): set the clock `
      + 'of the machine that built the card right and rebuild it, or wait until then.', false);
  if (c.nowMs >= t.expires)
    return refuse(`the join ticket expired ${when(t.expires)} (a card is good for microcloud.join_ticket_days after it is `
      + `built, issued ${when(t.issued)}): ${rebuild}.`);
  const revoked = c.revocations.filter((r) => r.node === t.node && t.issued <= r.before).map((r) => r.before);
  if (revoked.length)
    return refuse(`tickets of ${t.node} issued up to ${when(Math.max(...revoked))} were revoked (build-image revoke --node ${t.node}), `
      + `and this one was issued ${when(t.issued)}: ${rebuild}.`);
  const spent = Object.hasOwn(c.spent, t.node) ? c.spent[t.node] : undefined;
  if (spent !== undefined && t.issued <= spent)
    return refuse(`${t.node} already joined with a ticket issued ${when(spent)}, and this one was issued ${when(t.issued)}, not later: `
      + `a card adds its node once. To put a new Pi in ${t.node}'s place, build it with build-image --node ${t.node} --replace.`);
  return { ok: true, ticket: t };
}
