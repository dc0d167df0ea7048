// What a member keeps about join tickets (join-ticket.ts): for each node, the issue time of the
// ticket that last joined under its name (a card adds its node once), and the operator's
// revocations. Root-only, rewritten whole through a temporary name of its own, one write at a
// time; it changes only when a node is added or the operator revokes, which is rare.
import type { FileAccess, Logger } from '../run/types.js';
import { readRevocation } from './join-ticket.js';

export const TICKET_LEDGER_PATH = '/var/lib/microcloud-pi/join-tickets.json';

export interface TicketLedgerState {
  readonly spent: Readonly<Record<string, number>>;
  /** The newest revocation per node: tickets of it issued at or before `before` are refused. */
  readonly revocations: readonly { readonly node: string; readonly before: number }[];
}

/** The ledger file's text, keeping only well-formed entries; throws when it is not JSON. */
function parseLedger(text: string): TicketLedgerState {
  const parsed = JSON.parse(text) as Partial<TicketLedgerState>;
  const spent = Object.fromEntries(Object.entries(parsed.spent ?? {}).filter(([, v]) => typeof v === 'number'));
  const revocations = (Array.isArray(parsed.revocations) ? parsed.revocations : [])
    .filter((r) => typeof r?.node === 'string' && typeof r.before === 'number');
  return { spent, revocations };
}

export class TicketLedger {
  private spent: Record<string, number>;
  private revoked: Map<string, number>;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly files: FileAccess, state: TicketLedgerState, readonly blocked = false) {
    this.spent = { ...state.spent };
    this.revoked = new Map(state.revocations.map((r) => [r.node, r.before]));
  }

  static async open(files: FileAccess, log: Logger): Promise<TicketLedger> {
    const text = await files.read(TICKET_LEDGER_PATH);
    let state: TicketLedgerState = { spent: {}, revocations: [] };
    let blocked = false;
    if (text !== undefined) {
      try {
        state = parseLedger(text);
      } catch {
        // Written whole through a rename, so only another hand could have broken it: admit nobody rather than forget (`blocked`).
        log.warn(`join: ${TICKET_LEDGER_PATH} is unreadable; no card is admitted until a person fixes or removes it`);
        blocked = true;
      }
    }
    return new TicketLedger(files, state, blocked);
  }

  /** Node -> revoked up to (ms), as the ledger on disk says; none when it is missing or unreadable (its reader, the desk, says so). */
  static async revocations(files: FileAccess): Promise<Record<string, number>> {
    try {
      return Object.fromEntries(parseLedger(await files.read(TICKET_LEDGER_PATH) ?? '{}').revocations.map((r) => [r.node, r.before]));
    } catch {
      return {};
    }
  }

  get state(): TicketLedgerState {
    return { spent: { ...this.spent }, revocations: [...this.revoked].map(([node, before]) => ({ node, before })) };
  }

  /** Nodes that formed the cluster: tickets of theirs issued before now admit nobody (a card adds its node once). */
  async founded(nodes: readonly string[], nowMs: number): Promise<void> {
    const fresh = nodes.filter((n) => !Object.hasOwn(this.spent, n));
    if (!fresh.length) return;
    for (const n of fresh) this.spent[n] = nowMs;
    await this.save();
  }

  async spend(node: string, issued: number): Promise<void> {
    this.spent[node] = Math.max(this.spent[node] ?? 0, issued);
    await this.save();
  }

  /** The operator's signed revocation (the body of POST /join/revoke): kept, or why not. */
  async revoke(publicKey: string, body: string, cluster: string): Promise<{ ok: true; node: string } | { ok: false; reason: string }> {
    const read = readRevocation(publicKey, body, cluster);
    if (!read.ok) return read;
    const { node, before } = read.revocation;
    if ((this.revoked.get(node) ?? -1) < before) {
      this.revoked.set(node, before);
      await this.save();
    }
    return { ok: true, node };
  }

  private save(): Promise<void> {
    const snapshot = JSON.stringify({ spent: this.spent, revocations: [...this.revoked].map(([node, before]) => ({ node, before })) });
    const done = this.queue.then(() => this.files.write(TICKET_LEDGER_PATH, `${snapshot}\n`, 0o600));
    this.queue = done.catch(() => undefined);
    return done;
  }
}
