// A formed member's side of growing the cluster: POST /join. It answers a verified request from a
// new node by opening one add session (`microcloud preseed` as the initiator, with only that
// node in `systems`), and answers nothing but "opened" or the reason it will not. One session at
// a time, provably: the slot is taken before the first await and only its owner gives it back.
import { cidrContains, parseCidr } from '../../builder/config/ipv4.js';
import type { CommandRunner } from '../../builder/command-runner.js';
import type { NodeConfig } from '../../builder/render/node-config.js';
import { lastLine, redact } from '../run/redact.js';
import { PRESEED_GRACE_SECONDS } from '../run/run-preseed.js';
import type { Clock, FileAccess, JoinAnswer, Logger, NodeStatus } from '../run/types.js';
import { parseAddRequest, planAddPreseed, renderAddPreseed, type AddRequest } from './add-request.js';
import { HEADERS, ReplayGuard, sessionPassphrase, verifyRequest, type JoinRequestIn } from './join-auth.js';
import { printable, RefusalLog } from './refusal-log.js';

/** Root-only: nonces of accepted requests, so a restarted member still refuses their replays. */
export const ACCEPTED_NONCES_PATH = '/var/lib/microcloud-pi/join-nonces.json';
/** How long a member must have been unreachable before a `--replace` node may take its name. */
export const REPLACE_AFTER_MS = 3 * 60_000;

export interface MemberRow { readonly name: string; readonly status: string; readonly address?: string }

/** `microcloud cluster list --format json`: name, address (host:port), role, status per member. */
export function parseMembers(stdout: string): MemberRow[] | undefined {
  try {
    const rows = JSON.parse(stdout) as unknown;
    if (!Array.isArray(rows)) return undefined;
    return rows.filter((r) => typeof r?.name === 'string').map((r) => ({
      name: r.name as string, status: String(r.status ?? '').toUpperCase(),
      ...(typeof r.address === 'string' ? { address: r.address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '') } : {}),
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
  readonly record: (fields: Partial<Pick<NodeStatus, 'adding' | 'added' | 'refused'>>) => void;
}

type Decision = JoinAnswer & { node?: string };
/** A refusal a person must act on: the joiner stops (exit 78) instead of asking again. */
const final = (node: string | undefined, status: number, reason: string): Decision => ({ ...(node ? { node } : {}), status, reason, final: true });
const wait = (status: number, reason: string): Decision => ({ status, reason });

export class JoinDesk {
  private slot: { readonly node: string } | undefined;
  private session: Promise<void> | undefined;
  private readonly added: string[] = [];
  /** When each member was first seen UNREACHABLE by this desk (cleared when seen otherwise). */
  private readonly unreachableSince = new Map<string, number>();
  private readonly refusals: RefusalLog;

  private constructor(private readonly deps: JoinDeskDeps, private readonly guard: ReplayGuard) {
    this.refusals = new RefusalLog(deps.log, deps.clock);
  }

  /** Opens the desk with the nonces it accepted before a restart. */
  static async open(deps: JoinDeskDeps): Promise<JoinDesk> {
    let accepted: Record<string, number> = {};
    try {
      const parsed = JSON.parse((await deps.files.read(ACCEPTED_NONCES_PATH)) ?? '{}') as unknown;
      if (parsed && typeof parsed === 'object') accepted = Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'number'));
    } catch {
      deps.log.warn(`join: ${ACCEPTED_NONCES_PATH} was unreadable; starting with no accepted nonces`);
    }
    return new JoinDesk(deps, new ReplayGuard(accepted));
  }

  /** Resolves once the add session open now (if any) has ended. */
  async settled(): Promise<void> {
    await this.session;
  }

  async handle(request: JoinRequestIn): Promise<JoinAnswer> {
    const answer = await this.decide(request);
    if (answer.status === 202) return answer;
    const reason = printable(answer.reason ?? '');
    this.refusals.refused(`join: refused a request from ${printable(request.source)}: ${reason}`);
    // An authentic node turned away for a reason a person can act on: shown on this member's status too.
    if (answer.node && answer.final) this.deps.record({ refused: { node: answer.node, reason, at: new Date(this.deps.clock.now()).toISOString() } });
    return { status: answer.status, reason, ...(answer.final ? { final: true } : {}) };
  }

  private async decide(request: JoinRequestIn): Promise<Decision> {
    const { config, key, clock } = this.deps;
    const subnet = parseCidr(config.subnet)!;
    const verdict = verifyRequest(key, config.address, request, clock.now(), this.guard, (a) => cidrContains(subnet, a));
    if (!verdict.ok) return { status: verdict.status, reason: verdict.reason, ...(verdict.status === 403 ? { final: true } : {}) };
    const parsed = parseAddRequest(request.body, request.source, config);
    if (!parsed.ok) return final(undefined, 400, parsed.reason);
    const add = parsed.value;
    if (!config.join.grow)
      return final(add.node, 403, `microcloud.grow is false for this cluster: a person adds ${add.node} (microcloud add on a member)`);
    if (add.node === config.node) return final(add.node, 409, `${add.node} is this member's own name`);
    if (this.slot) return wait(503, `${config.node} is adding ${this.slot.node} now; ask again in a minute`);
    const slot = { node: add.node };
    this.slot = slot; // taken before the first await: a second request now gets 503
    let opened = false;
    try {
      const verdict = await this.checkMembers(add);
      if (verdict !== 'add' && verdict !== 'replace') return verdict;
      const nonce = request.headers[HEADERS.nonce]!;
      if (this.guard.seen(nonce)) return wait(409, 'the nonce was used before (a replayed request)');
      // Saved before the session opens: a member that restarts still knows this request was used.
      await this.deps.files.write(ACCEPTED_NONCES_PATH, `${JSON.stringify(this.guard.accept(nonce, clock.now()))}\n`, 0o600);
      if (verdict === 'replace') {
        this.deps.log.info(`join: removing the unreachable member ${add.node}, replaced by the Pi at ${add.address}`);
        const removed = await this.deps.run('microcloud', ['remove', add.node, '--force']);
        if (removed.exitCode !== 0) return wait(503, `${config.node} could not remove the unreachable ${add.node}: ${lastLine(removed.stderr)}`);
        this.unreachableSince.delete(add.node);
        this.open(slot, add, nonce, true);
      } else {
        this.open(slot, add, nonce, false);
      }
      opened = true;
      return { status: 202 };
    } finally {
      if (!opened) this.release(slot);
    }
  }

  /** The cluster as MicroCloud sees it now: may `add` take its name and address, after removing a dead member of its name? */
  private async checkMembers(add: AddRequest): Promise<Decision | 'add' | 'replace'> {
    const { config, clock } = this.deps;
    const listed = await this.deps.run('microcloud', ['cluster', 'list', '--format', 'json']);
    const members = listed.exitCode === 0 ? parseMembers(listed.stdout) : undefined;
    if (!members) return wait(503, `${config.node} cannot list the cluster's members right now`);
    const now = clock.now();
    for (const name of this.unreachableSince.keys()) if (!members.some((m) => m.name === name)) this.unreachableSince.delete(name);
    for (const m of members) {
      if (m.status !== 'UNREACHABLE') this.unreachableSince.delete(m.name);
      else if (!this.unreachableSince.has(m.name)) this.unreachableSince.set(m.name, now);
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
    const since = this.unreachableSince.get(add.node)!;
    if (now - since < REPLACE_AFTER_MS)
      return wait(503, `${add.node} has been unreachable for ${Math.round((now - since) / 1000)} s; ${config.node} removes it once it `
        + `has been unreachable for ${REPLACE_AFTER_MS / 60_000} min; ask again`);
    return 'replace';
  }

  private release(slot: { readonly node: string }): void {
    if (this.slot === slot) this.slot = undefined;
  }

  /** The add session runs in the background: the new node starts its side as soon as it has the answer. */
  private open(slot: { readonly node: string }, add: AddRequest, nonce: string, replacing: boolean): void {
    const { config, key, run, log, clock } = this.deps;
    const passphrase = sessionPassphrase(key, nonce);
    const preseed = renderAddPreseed(planAddPreseed(config, { name: config.node, address: config.address }, add, passphrase));
    this.deps.record({ adding: { node: add.node, replacing, since: new Date(clock.now()).toISOString() }, added: [...this.added] });
    log.info(`join: adding ${add.node} (${add.address})${replacing ? ', in place of the removed member of that name' : ''}`);
    this.session = (async () => {
      const ran = await run('microcloud', ['preseed'], {
        input: preseed, secret: [passphrase], timeoutMs: (config.sessionTimeoutSeconds + PRESEED_GRACE_SECONDS) * 1000,
      });
      if (ran.exitCode === 0) {
        this.added.push(add.node);
        log.info(`join: ${add.node} added to the cluster`);
      } else {
        log.warn(`join: adding ${add.node} failed (${ran.timedOut ? 'timed out' : redact(lastLine(ran.stderr), [passphrase])}); `
          + 'it asks again by itself');
      }
    })().catch((error: Error) => log.warn(`join: adding ${add.node} failed: ${error.message}`)).finally(() => {
      this.release(slot);
      this.session = undefined;
      this.deps.record({ adding: undefined, added: [...this.added] });
    });
  }
}
