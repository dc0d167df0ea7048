// A formed member's side of growing the cluster. POST /join: a verified request from a new node
// joins the batch this member is gathering (or opens one); the batch becomes one add session
// (`microcloud preseed` as the initiator, every new node of the batch in `systems`) once every
// newcomer the nodes named has asked, or the gathering window has passed. POST /join/batch: a
// new node of the batch asks whether its session is open, and gets the plan to run its side with.
// One add session at a time, provably: no await lies between looking at the desk's state and
// changing it. A request that comes while a session runs is gathered into the next batch, which
// opens when that session ends: a backlog becomes one session, not one per node.
import { randomBytes } from 'node:crypto';
import { cidrContains, parseCidr } from '../../builder/config/ipv4.js';
import type { CommandRunner } from '../../builder/command-runner.js';
import type { NodeConfig } from '../../builder/render/node-config.js';
import { lastLine, redact } from '../run/redact.js';
import { PRESEED_GRACE_SECONDS } from '../run/run-preseed.js';
import type { Clock, FileAccess, JoinAnswer, Logger, NodeStatus } from '../run/types.js';
import { certFingerprint } from './microcloud-cert.js';
import { IDENTITY_HEADERS, readIdentity, type NodeSigner } from './node-identity.js';
import { newSessionSecret, sealSecret, sessionPassphraseOf } from './session-secret.js';
import { parseAddRequest, planAdd, renderAddPreseed, withSessionPassphrase, type AddPlan, type AddRequest } from './add-request.js';
import { cardSignatureHolds, HEADERS, NONCE_KEEP_MS, ReplayGuard, sessionPassphrase, ticketMacHolds, verifyRequest, type JoinRequestIn } from './join-auth.js';
import { NonceLedgerFile } from './nonce-ledger.js';
import { checkTicket, TICKET_HEADER } from './join-ticket.js';
import { TicketLedger } from './ticket-ledger.js';
import { printable, RefusalLog } from './refusal-log.js';
import { BATCH_PATH } from './send-join.js';

/** How long a member must have been unreachable before a `--replace` node may take its name. */
export const REPLACE_AFTER_MS = 3 * 60_000;
/**
 * The unreachable time counts only while looks follow each other this closely: a member seen
 * unreachable, then (unseen) back online, then unreachable for a moment minutes later has not been
 * unreachable all along. A waiting --replace node asks every 15-23 s (MicroCloud has at most 50
 * members), and every ask is a look.
 */
export const MAX_UNSEEN_MS = 60_000;
/** How long a batch gathers new nodes after its first, at most. */
export const GATHER_WINDOW_MS = 60_000;
const GATHER_CHECK_MS = 1000;
/** Under the joiner's 30 s wait for an answer: a hung command cannot hold the desk. */
const COMMAND_TIMEOUT_MS = 20_000;

export interface MemberRow { readonly name: string; readonly status: string; readonly address?: string; readonly fingerprint?: string }

/**
 * `microcloud cluster list --format json`: name, address (host:port), role, status and the PEM
 * certificate per member (microcluster types.ClusterMember; the table's FINGERPRINT is its SHA-256).
 */
export function parseMembers(stdout: string): MemberRow[] | undefined {
  try {
    const rows = JSON.parse(stdout) as unknown;
    if (!Array.isArray(rows)) return undefined;
    return rows.filter((r) => typeof r?.name === 'string').map((r) => ({
      name: r.name as string, status: String(r.status ?? '').toUpperCase(),
      ...(typeof r.address === 'string' ? { address: r.address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '') } : {}),
      ...(typeof r.certificate === 'string' && certFingerprint(r.certificate) ? { fingerprint: certFingerprint(r.certificate)! } : {}),
    }));
  } catch {
    return undefined;
  }
}

export interface JoinDeskDeps {
  readonly config: NodeConfig;
  readonly key: Buffer;
  readonly run: CommandRunner;
  readonly log: Logger;
  readonly clock: Clock;
  readonly files: FileAccess;
  /** Publish the session on this member's status. */
  readonly record: (fields: Partial<Pick<NodeStatus, 'adding' | 'added' | 'refused' | 'refusals'>>) => void;
  /** How long a batch gathers (GATHER_WINDOW_MS). */
  readonly gatherWindowMs?: number;
  /** The nodes this member formed the cluster with, when it is a founder: their cards have been used. */
  readonly founders?: readonly string[];
  /** This member's card key (built with an operator key): it seals each batch's session secret to its joiners. */
  readonly signer?: NodeSigner;
}

/** New nodes gathered for one add session. `plan` is set once the session is open. */
interface Batch {
  readonly id: string;
  readonly joiners: Map<string, AddRequest>;
  /** Each joiner's X25519 key, from its operator-sealed identity: the session's secret is sealed to it. */
  readonly dh: Map<string, string>;
  /** The session passphrase's secret (session-secret.ts); absent on a member without a card key (the join key and the id give it). */
  readonly secret?: Buffer;
  /** Names the new nodes said are new too: once all of them have asked, the batch need not wait. */
  readonly expected: Set<string>;
  readonly replacing: Set<string>;
  /** The issue time of each joiner's ticket: spent once the session added it. */
  readonly tickets: Map<string, number>;
  readonly closesAt: number;
  /** The disk filters every joiner of the batch asked for: one add preseed has one set, so requests that differ go to separate batches. */
  readonly storage: string;
  /** A node that did not reach out to a session it was in: it is added on its own, not with others it would sink again. */
  readonly solo: boolean;
  plan?: AddPlan;
  /** The session failed: why, as the member's answers say it. */
  failed?: string;
  /** Nodes of a failed session that MicroCloud had partly joined, removed again by this member. */
  removed?: string[];
  /** Nodes whose place another machine took in the session (removed again): each asks again. */
  seatTaken?: Set<string>;
}

type Decision = JoinAnswer & { node?: string };
/** A refusal a person must act on: the joiner stops (exit 78) instead of asking again. */
const final = (node: string | undefined, status: number, reason: string): Decision => ({ ...(node ? { node } : {}), status, reason, final: true });
const wait = (status: number, reason: string): Decision => ({ status, reason });

/** Final refusals of authentic requests kept on the status. */
const KEPT_REFUSALS = 5;
/** Batches that ended, kept so their nodes learn how (added: the plan again; failed: stop waiting and ask again). */
const ENDED_KEPT = 8;
/**
 * MicroCloud's words for a machine that sank the session: it never came (cmd/microcloud/ask.go
 * askJoinIntents: "System %q hasn't reached out") or did not join (main_init.go waitForJoin:
 * "System %q failed to join the cluster").
 */
const NO_SHOW = /System "([^"]+)" (?:hasn't reached out|failed to join the cluster)/g;

/** The key two requests share when they ask for the same disk filters. */
const storageKey = (add: AddRequest) => JSON.stringify(add.filters ?? null);

export class JoinDesk {
  /** Batches taking new nodes now, oldest first (one per set of disk filters); and the one whose add session runs (its plan is set). */
  private gathering: Batch[] = [];
  private running: Batch | undefined;
  /**
   * Batches that ended, newest last: a node of an added one that asks after the member's side
   * finished (a MicroCloud that did not wait for it) still gets its plan; a node of a failed one
   * is told so at once and stops its side of the session instead of waiting for MicroCloud's timeout.
   */
  private readonly ended: Batch[] = [];
  /** Nodes MicroCloud said never reached out to a session they were in, and how often. */
  private readonly noShows = new Map<string, number>();
  private session: Promise<void> | undefined;
  /** `microcloud remove` of a dead member that a --replace node takes the place of, while it runs. */
  private removing: ReturnType<CommandRunner> | undefined;
  private readonly added: string[] = [];
  /** The members MicroCloud listed last: a newcomer a node named that is one by now will not ask. */
  private members = new Set<string>();
  /** Their addresses: the status endpoint counts them as peers (a node added after this one was built is not in its file). */
  private listedAddresses: readonly string[] = [];
  /** Since when each member has been seen UNREACHABLE at every look, and the last such look. */
  private readonly unreachableSince = new Map<string, { since: number; seen: number }>();
  private readonly refusals: RefusalLog;
  private readonly verifiedRefusals: RefusalLog;
  /** The last authentic final refusals, for the status (see NodeStatus.refusals). */
  private finalRefusals: { node: string; reason: string; at: string }[] = [];

  private constructor(private readonly deps: JoinDeskDeps, private readonly guard: ReplayGuard, private readonly ledger: NonceLedgerFile,
    private readonly tickets: TicketLedger) {
    this.refusals = new RefusalLog(deps.log, deps.clock);
    this.verifiedRefusals = new RefusalLog(deps.log, deps.clock);
  }

  /** Opens the desk with the nonces it accepted before a restart. */
  static async open(deps: JoinDeskDeps): Promise<JoinDesk> {
    let guard: ReplayGuard | undefined;
    const { ledger, file } = await NonceLedgerFile.open(deps.files, deps.log, () => guard!.ledger());
    guard = new ReplayGuard(ledger);
    const tickets = await TicketLedger.open(deps.files, deps.log);
    if (deps.founders?.length) await tickets.founded(deps.founders, deps.clock.now());
    return new JoinDesk(deps, guard, file, tickets);
  }

  /** The addresses of the cluster's members, as MicroCloud listed them last. */
  memberAddresses(): readonly string[] {
    return this.listedAddresses;
  }

  /** POST /join/revoke: the operator's signed revocation of a node's tickets (build-image revoke). */
  async revoke(body: string): Promise<{ status: number; reason?: string }> {
    const { config, log } = this.deps;
    if (!config.join.operatorKey) return { status: 404, reason: `${config.node} was built without an operator key: it checks no join tickets` };
    const kept = await this.tickets.revoke(config.join.operatorKey, body, config.cluster);
    if (!kept.ok) return { status: 403, reason: printable(kept.reason) };
    log.info(`join: the operator revoked the join tickets of ${kept.node} issued up to now`);
    return { status: 200 };
  }

  /** Resolves once the batch gathering now (if any) has been added, or has failed. */
  async settled(): Promise<void> {
    while (this.gathering.length || this.session) {
      await this.session;
      if (this.gathering.length && !this.session) await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** The answer; `verified` when the request's signature held (only then is the answer signed: nobody else can fetch a signed refusal for a nonce). */
  async handle(request: JoinRequestIn): Promise<JoinAnswer> {
    const { clock } = this.deps;
    const subnet = parseCidr(this.deps.config.subnet)!;
    const verdict = verifyRequest(this.deps.key, this.deps.config.address, request, clock.now(), this.guard, (a) => cidrContains(subnet, a));
    const answer: Decision = verdict.ok ? { ...await this.decide(request), verified: true } : { status: verdict.status, reason: verdict.reason };
    if (answer.status === 200 || answer.status === 202) return answer;
    const reason = printable(answer.reason ?? '');
    // Authentic refusals have lines of their own: junk from anyone cannot use them up.
    (answer.verified ? this.verifiedRefusals : this.refusals).refused(`join: refused a request from ${printable(request.source)}: ${reason}`);
    // An authentic node turned away for a reason a person can act on: shown on this member's status too.
    if (answer.node && answer.final) {
      const refused = { node: answer.node, reason, at: new Date(clock.now()).toISOString() };
      this.finalRefusals = [...this.finalRefusals, refused].slice(-KEPT_REFUSALS);
      this.deps.record({ refused, refusals: this.finalRefusals });
    }
    return { status: answer.status, reason, ...(answer.final ? { final: true } : {}), ...(answer.verified ? { verified: true } : {}),
      ...(answer.removed ? { removed: answer.removed } : {}) };
  }

  /** A request whose signature held: its nonce is used up now, whatever the answer, so no copy of it can do anything later. */
  private async decide(request: JoinRequestIn): Promise<Decision> {
    const { config, clock } = this.deps;
    const nonce = request.headers[HEADERS.nonce]!;
    const timestamp = Number(request.headers[HEADERS.timestamp]);
    if (request.path === BATCH_PATH) {
      // A poll changes nothing: its nonce is kept in memory only (after a restart its batch is gone anyway).
      this.guard.use(nonce, timestamp, clock.now(), request.source, NONCE_KEEP_MS.poll);
      return this.batchState(request);
    }
    // Used up at once, in memory; kept a day, on disk, only once the request changes something (see persist).
    this.guard.use(nonce, timestamp, clock.now(), request.source, NONCE_KEEP_MS.poll);
    const parsed = parseAddRequest(request.body, request.source, config);
    if (!parsed.ok) return final(undefined, 400, parsed.reason);
    const add = parsed.value;
    if (!config.join.grow)
      return final(add.node, 403, `microcloud.grow is false for this cluster: a person adds ${add.node} (microcloud add on a member)`);
    if (add.node === config.node) return final(add.node, 409, `${add.node} is this member's own name`);
    if (this.running?.joiners.has(add.node)) return this.busy();
    // The card's own ticket, signed by the operator: only the node it was built for, at its address, once, in time, unrevoked.
    let ticket: { issued: number; replace: boolean } | undefined;
    let dh: string | undefined;
    if (config.join.operatorKey) {
      if (this.tickets.blocked) return wait(503, `${config.node} cannot read its record of join tickets; ask another member`);
      const sent = request.headers[TICKET_HEADER];
      if (sent && !ticketMacHolds(this.deps.key, nonce, sent, request.headers[HEADERS.ticketMac]))
        return wait(401, 'the ticket header does not belong to this request (changed on the way?); ask again with a fresh request');
      const verdict = checkTicket({ ticketText: request.headers[TICKET_HEADER], publicKey: config.join.operatorKey, cluster: config.cluster,
        node: add.node, address: add.address, replace: add.replace, nowMs: clock.now(), ...this.tickets.state });
      if (!verdict.ok) return verdict.final ? final(add.node, 403, verdict.reason) : wait(503, verdict.reason);
      ticket = verdict.ticket;
      // A card with a ticket names the certificate it joins with, or the member could not tell it from an impostor after the session.
      if (!add.fingerprint)
        return final(add.node, 403, `${add.node}'s request names no MicroCloud certificate (fingerprint): a card built before `
          + `this check, or its microcloud daemon made none; rebuild the card with build-image --node ${add.node}`);
      // Its identity: the key the session's secret is sealed to, so only this card can open it.
      const identity = readIdentity(config.join.operatorKey, request.headers[IDENTITY_HEADERS.identity] ?? '');
      if (!identity.ok || identity.value.cluster !== config.cluster || identity.value.node !== add.node || identity.value.address !== add.address
        || !identity.value.dh)
        return final(add.node, 403, `${add.node}'s request carries no identity of ${add.node} at ${add.address} from this cluster's operator key `
          + `(${identity.ok ? 'another node\'s, or one without a key to seal to' : identity.reason}): rebuild the card with build-image --node ${add.node}`);
      // ...and the request is that card's: its own key signed it (the join key is every card's).
      if (!cardSignatureHolds(identity.value.key, { method: request.method, path: request.path, member: config.address, sender: request.source },
        request.body, request.headers[HEADERS.timestamp]!, nonce, request.headers[HEADERS.cardSignature]))
        return wait(401, `the request is not signed with ${add.node}'s own card key; ask again with a fresh request`);
      dh = identity.value.dh;
    }
    const verdictOfMembers = await this.checkMembers(add, ticket?.replace === true);
    if (verdictOfMembers !== 'add' && verdictOfMembers !== 'replace') return verdictOfMembers;
    if (verdictOfMembers === 'replace') {
      // A member is removed only between sessions, one at a time; a batch opens its session only after it.
      if (this.running || this.removing) return this.running ? this.busy() : wait(503, `${config.node} is removing a member now; ask again`);
      await this.persist(nonce, timestamp);
      this.deps.log.info(`join: removing the unreachable member ${add.node}, replaced by the Pi at ${add.address}`);
      this.removing = this.deps.run('microcloud', ['remove', add.node, '--force'], { timeoutMs: COMMAND_TIMEOUT_MS });
      const removed = await this.removing.finally(() => { this.removing = undefined; });
      if (removed.exitCode !== 0) return wait(503, `${config.node} could not remove the unreachable ${add.node}: ${lastLine(removed.stderr)}`);
      this.unreachableSince.delete(add.node);
    }
    // From here to the answer nothing is awaited: the batch is looked at and changed in one go.
    if (this.running?.joiners.has(add.node)) return this.busy();
    // The node gave up waiting for this answer (it asks another member now): it must not be gathered here too.
    if (request.stillWaiting && !request.stillWaiting()) return wait(503, 'the node stopped waiting for this answer');
    const other = [this.running, ...this.gathering].flatMap((b) => [...(b?.joiners.values() ?? [])])
      .find((j) => j.address === add.address && j.node !== add.node);
    if (other) return final(add.node, 409, `${add.address} is the address of ${other.node}, which asked to be added too`);
    // A node asking again while gathered already (its answer was lost) stays in its batch; a node that
    // once never came is added on its own; the others go with the nodes that asked for the same disks.
    const solo = (this.noShows.get(add.node) ?? 0) > 0;
    const batch = this.gathering.find((b) => b.joiners.has(add.node) && b.storage === storageKey(add)) // rebuilt with other disks: moves
      ?? (solo ? undefined : this.gathering.find((b) => !b.solo && b.storage === storageKey(add)));
    const opening = !batch;
    const into = batch ?? this.newBatch(storageKey(add), solo);
    for (const b of this.gathering) if (b !== into) b.joiners.delete(add.node);
    const joined = into;
    joined.joiners.set(add.node, add);
    if (dh) joined.dh.set(add.node, dh);
    if (!solo) for (const name of [add.node, ...(add.newcomers ?? [])]) joined.expected.add(name);
    if (verdictOfMembers === 'replace') joined.replacing.add(add.node);
    if (ticket) joined.tickets.set(add.node, ticket.issued);
    if (opening) void this.gather(joined).catch((error: Error) => this.deps.log.warn(`join: the batch failed: ${error.message}`));
    await this.persist(nonce, timestamp);
    return { status: 202, batch: joined.id };
  }

  /**
   * A request that changed the desk's state (gathered a node, removed a member): its nonce is kept
   * a day and saved, so not even a restart lets a copy of it do that again. Refused requests
   * changed nothing: a copy of one gets the same answer, so they stay in memory only and cannot
   * fill the ledger.
   */
  private async persist(nonce: string, timestamp: number): Promise<void> {
    if (!this.guard.keep(nonce)) return;
    await this.ledger.add(nonce, timestamp).catch((error: Error) => this.deps.log.warn(`join: could not save a used nonce: ${error.message}`));
  }

  private busy(): Decision {
    return wait(503, `${this.deps.config.node} is adding ${[...this.running!.joiners.keys()].join(', ')} now; ask again in a minute`);
  }

  /** POST /join/batch: is the session of this node's batch open yet? The answer carries the plan when it is. */
  private batchState(request: JoinRequestIn): Decision {
    let asked: { node?: unknown; batch?: unknown } = {};
    try {
      asked = JSON.parse(request.body) as typeof asked;
    } catch { /* refused below */ }
    const batch = [...this.gathering, this.running, ...this.ended].find((b) => b && b.id === asked.batch);
    if (!batch || typeof asked.node !== 'string' || !batch.joiners.has(asked.node))
      return wait(409, 'that batch is over (this member restarted, or it was never here); ask to be added again');
    if (batch.joiners.get(asked.node)!.address !== request.source) return wait(409, 'the request does not come from that node\'s address');
    if (batch.failed) return { ...wait(409, `the add session of that batch failed (${batch.failed}); ask to be added again`), removed: batch.removed ?? [] };
    if (batch.seatTaken?.has(asked.node))
      return { ...wait(409, `another machine joined in ${asked.node}'s place in that session and was removed again; ask to be added again`), removed: [asked.node] };
    if (!batch.plan) return { status: 202, batch: batch.id };
    const joinerDh = batch.dh.get(asked.node);
    const sealed = batch.secret && joinerDh && this.deps.signer
      ? sealSecret(batch.secret, this.deps.signer.dhKey, joinerDh, { batch: batch.id, node: asked.node }) : undefined;
    return { status: 200, plan: batch.plan, ...(sealed ? { sealed } : {}) };
  }

  private newBatch(storage: string, solo: boolean): Batch {
    const batch: Batch = { id: randomBytes(16).toString('hex'), joiners: new Map(), dh: new Map(), expected: new Set(), replacing: new Set(),
      tickets: new Map(), ...(this.deps.signer && this.deps.config.join.operatorKey ? { secret: newSessionSecret() } : {}),
      closesAt: this.deps.clock.now() + (this.deps.gatherWindowMs ?? GATHER_WINDOW_MS), storage, solo };
    this.gathering.push(batch);
    return batch;
  }

  private end(batch: Batch): void {
    this.ended.push(batch);
    if (this.ended.length > ENDED_KEPT) this.ended.shift();
  }

  /**
   * Waits until every expected newcomer asked or the window passed, and until the session before
   * it (if any) ended, then runs the batch's one add session.
   */
  private async gather(batch: Batch): Promise<void> {
    const { config, key, run, log, clock } = this.deps;
    const asked = (n: string) => [...this.gathering, this.running].some((b) => b?.joiners.has(n)); // in this batch or another
    const missing = () => [...batch.expected].some((n) => !asked(n) && !this.members.has(n) && !this.added.includes(n));
    while (clock.now() < batch.closesAt && missing()) await clock.sleep(GATHER_CHECK_MS);
    // Batches run oldest first, one at a time; a lone node that once never came waits for the others. It still takes new nodes meanwhile.
    const ahead = () => this.gathering.slice(0, this.gathering.indexOf(batch)).some((b) => b.solo === batch.solo || !b.solo);
    let before: Set<string> | undefined;
    for (;;) {
      while (this.session || this.removing || ahead()) {
        if (this.session || this.removing) await (this.session ?? this.removing);
        else await clock.sleep(GATHER_CHECK_MS);
      }
      // Who is a member right before the session: a node that joined through another member meanwhile (an
      // answer of this one got lost) is not added again, and is never taken for one this session partly joined.
      before = await this.listMembers();
      if (!this.session && !this.removing && !ahead()) break;
    }
    for (const name of batch.joiners.keys()) if (before?.has(name)) batch.joiners.delete(name);
    // From here to the session's start nothing is awaited: the batch stops gathering and runs.
    // Nobody is in two batches: a node's request while its own session runs is busy, and a member's name is refused
    // (a name this member added before may come again: a dead Pi replaced under it).
    this.gathering = this.gathering.filter((b) => b !== batch);
    if (!batch.joiners.size) return; // every node of it went to another batch
    this.running = batch;
    const joiners = [...batch.joiners.values()];
    batch.plan = planAdd(config, { name: config.node, address: config.address }, joiners);
    const passphrase = batch.secret ? sessionPassphraseOf(batch.secret, batch.id) : sessionPassphrase(key, batch.id);
    const names = joiners.map((j) => j.node);
    const replacing = batch.replacing.size > 0;
    this.deps.record({ adding: { node: names.join(', '), replacing, since: new Date(clock.now()).toISOString() }, added: [...this.added] });
    log.info(`join: adding ${joiners.map((j) => `${j.node} (${j.address})`).join(', ')} in one add session`
      + `${replacing ? `, in place of the removed member(s) ${[...batch.replacing].join(', ')}` : ''}`);
    this.session = (async () => {
      const ran = await run('microcloud', ['preseed'], {
        input: renderAddPreseed(withSessionPassphrase(batch.plan!, passphrase)), secret: [passphrase],
        timeoutMs: (config.sessionTimeoutSeconds + PRESEED_GRACE_SECONDS) * 1000,
      });
      if (ran.exitCode === 0) {
        const taken = await this.removeImpostors(joiners);
        if (taken.length) batch.seatTaken = new Set(taken);
        const added = names.filter((n) => !taken.includes(n));
        this.added.push(...added);
        for (const name of added) this.noShows.delete(name);
        for (const [name, issued] of batch.tickets) {
          if (taken.includes(name)) continue; // the card was not the one that joined: it may still add its node
          await this.tickets.spend(name, issued) // a card adds its node once
            .catch((error: Error) => log.warn(`join: could not record that ${name}'s card was used: ${error.message}`));
        }
        if (added.length) log.info(`join: ${added.join(', ')} added to the cluster`);
      } else {
        // MicroCloud names a machine that did not come ("System X hasn't reached out"): it is added on its own
        // from now on; the others are told the batch failed (their side would wait for MicroCloud's session
        // timeout, an hour by default), ask again and form the next batch.
        const why = ran.timedOut ? 'timed out' : redact(lastLine(ran.stderr), [passphrase]);
        const missing = [...(ran.stderr ?? '').matchAll(NO_SHOW)].map((m) => m[1]!).filter((n) => names.includes(n));
        for (const name of missing) this.noShows.set(name, (this.noShows.get(name) ?? 0) + 1);
        log.warn(`join: adding ${names.join(', ')} failed (${why}); each asks again by itself${missing.length ? `, ${missing.join(', ')} on its own` : ''}`);
        // Its nodes learn of the failure once what MicroCloud kept of it is gone: they then know whether to reset.
        batch.removed = before ? await this.removePartlyJoined(names.filter((n) => !before!.has(n))) : [];
        for (const name of batch.removed) if (!missing.includes(name)) this.noShows.set(name, (this.noShows.get(name) ?? 0) + 1);
        batch.failed = missing.length ? `${missing.join(', ')} did not reach out` : why;
      }
    })().catch((error: Error) => {
      batch.failed = error.message;
      log.warn(`join: adding ${names.join(', ')} failed: ${error.message}`);
    }).finally(() => {
      this.end(batch);
      this.running = undefined;
      this.session = undefined;
      this.deps.record({ adding: undefined, added: [...this.added] });
    });
    await this.session;
  }

  /**
   * After a failed add session, the nodes of it that MicroCloud lists as members anyway: an add
   * joins each new machine to MicroCloud first and to LXD, MicroCeph and MicroOVN after
   * (cmd/microcloud/main_init.go addPeers; api/services.go servicesPut), and a failure rolls back
   * only the join tokens. `microcloud remove NAME --force` takes it out of every service that has
   * it and skips the others (api/services_cluster.go removeClusterMember), so the name is free
   * again; the node resets its own snaps before it asks again (it is told it was removed).
   */
  private async listMembers(): Promise<Set<string> | undefined> {
    const listed = await this.deps.run('microcloud', ['cluster', 'list', '--format', 'json'], { timeoutMs: COMMAND_TIMEOUT_MS });
    const members = listed.exitCode === 0 ? parseMembers(listed.stdout) : undefined;
    return members && new Set(members.map((m) => m.name));
  }

  /**
   * After a session that added `joiners`: every new member must be the machine that asked, at the
   * address it asked from, with the certificate it said it joins with. MicroCloud takes a joiner
   * by name alone (microcloud-cert.ts), so a batch-mate holding the session passphrase could have
   * joined another machine in a newcomer's place. Such a member is removed at once; the names it
   * took, whose own machines were never added.
   */
  private async removeImpostors(joiners: readonly AddRequest[]): Promise<string[]> {
    const listed = await this.deps.run('microcloud', ['cluster', 'list', '--format', 'json'], { timeoutMs: COMMAND_TIMEOUT_MS });
    const members = listed.exitCode === 0 ? parseMembers(listed.stdout) : undefined;
    if (!members) {
      this.deps.log.warn('join: could not list the members after the session; the new members\' certificates are not checked');
      return [];
    }
    const taken: string[] = [];
    for (const j of joiners) {
      const m = members.find((row) => row.name === j.node);
      if (!m) continue;
      const wrong = m.address !== undefined && m.address !== j.address ? `it is at ${m.address}, not ${j.address}`
        : j.fingerprint && m.fingerprint !== j.fingerprint ? `its certificate ${m.fingerprint?.slice(0, 16) ?? '(none)'}... is not the one ${j.node} asked with (${j.fingerprint.slice(0, 16)}...)`
          : undefined;
      if (!wrong) continue;
      this.removing = this.deps.run('microcloud', ['remove', j.node, '--force'], { timeoutMs: COMMAND_TIMEOUT_MS });
      const ran = await this.removing.finally(() => { this.removing = undefined; });
      this.verifiedRefusals.refused(`join: another machine joined as ${j.node} (${wrong}); ${ran.exitCode === 0
        ? 'removed it again' : `could not remove it: ${printable(lastLine(ran.stderr))}; a person must (microcloud remove ${j.node} --force)`}`);
      taken.push(j.node);
    }
    return taken;
  }

  /** `names`: the session's nodes that were not members when it started (only those can it have partly joined). */
  private async removePartlyJoined(names: readonly string[]): Promise<string[]> {
    const members = await this.listMembers() ?? new Set<string>();
    const removed: string[] = [];
    for (const name of names.filter((n) => members.has(n))) {
      this.removing = this.deps.run('microcloud', ['remove', name, '--force'], { timeoutMs: COMMAND_TIMEOUT_MS });
      const ran = await this.removing.finally(() => { this.removing = undefined; });
      if (ran.exitCode === 0) removed.push(name);
      this.deps.log[ran.exitCode === 0 ? 'info' : 'warn'](`join: ${name} was partly joined by the failed session; `
        + `${ran.exitCode === 0 ? 'removed it again' : `could not remove it: ${lastLine(ran.stderr)}`}`);
    }
    return removed;
  }

  /** The cluster as MicroCloud sees it now: may `add` take its name and address, after removing a dead member of its name? */
  private async checkMembers(add: AddRequest, operatorSaysReplace: boolean): Promise<Decision | 'add' | 'replace'> {
    const { config, clock } = this.deps;
    const listed = await this.deps.run('microcloud', ['cluster', 'list', '--format', 'json'], { timeoutMs: COMMAND_TIMEOUT_MS });
    const members = listed.exitCode === 0 ? parseMembers(listed.stdout) : undefined;
    if (!members) return wait(503, `${config.node} cannot list the cluster's members right now`);
    this.members = new Set(members.map((m) => m.name));
    this.listedAddresses = members.flatMap((m) => (m.address ? [m.address] : []));
    const now = clock.now();
    for (const name of this.unreachableSince.keys()) if (!members.some((m) => m.name === name)) this.unreachableSince.delete(name);
    for (const m of members) {
      const seen = this.unreachableSince.get(m.name);
      if (m.status !== 'UNREACHABLE') this.unreachableSince.delete(m.name);
      else if (seen && now - seen.seen <= MAX_UNSEEN_MS) seen.seen = now;
      else this.unreachableSince.set(m.name, { since: now, seen: now }); // first seen, or not looked at for too long: the wait starts over
    }
    const sameName = members.find((m) => m.name === add.node);
    const sameAddress = members.find((m) => m.address === add.address && m.name !== add.node);
    if (sameAddress) return final(add.node, 409, `${add.address} is the address of the member ${sameAddress.name}`);
    if (!sameName) return 'add';
    if (sameName.status === 'ONLINE')
      return final(add.node, 409, `${add.node} is already an online member of the cluster; two machines cannot share a name`);
    const state = sameName.status.toLowerCase() || 'in an unknown state';
    if (!add.replace)
      return final(add.node, 409, `${add.node} is still a member of the cluster (${state}). If that Pi is `
        + `dead, rebuild this one with build-image --node ${add.node} --replace and flash it again`);
    // Replacing removes the member first (MicroCloud refuses a name that is still a member): only
    // one that MicroCloud cannot reach, and only once it has been so for a while.
    if (sameName.status !== 'UNREACHABLE')
      return wait(503, `${add.node} is a member that is ${state}, not unreachable: ${config.node} removes a member only when `
        + 'MicroCloud cannot reach it; waiting');
    // The card takes the dead member's place: its address too (MicroCloud would refuse another
    // address only if a member had it; a card from anywhere on the LAN must not take the name).
    if (sameName.address && sameName.address !== add.address && !operatorSaysReplace)
      return final(add.node, 409, `${add.node} was a member at ${sameName.address}; a Pi replacing it must have that address, `
        + `not ${add.address}. Give ${add.node} its old address in the cluster file and rebuild it with --replace`);
    const since = this.unreachableSince.get(add.node)!.since;
    if (now - since < REPLACE_AFTER_MS)
      return wait(503, `${add.node} has been unreachable for ${Math.round((now - since) / 1000)} s; ${config.node} removes it once it `
        + `has been unreachable for ${REPLACE_AFTER_MS / 60_000} min; ask again`);
    return 'replace';
  }
}
