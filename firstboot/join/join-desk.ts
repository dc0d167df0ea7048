// A formed member's side of growing the cluster: POST /join. It answers a verified request from a
// new node by opening one add session (`microcloud preseed` as the initiator, with only that
// node in `systems`), and answers nothing but "opened" or the reason it will not. One session at
// a time: MicroCloud adds are not meant to overlap, and a second request waits for the first.
import { cidrContains, parseCidr } from '../../builder/config/ipv4.js';
import type { CommandRunner } from '../../builder/command-runner.js';
import type { NodeConfig } from '../../builder/render/node-config.js';
import { lastLine, redact } from '../run/redact.js';
import { PRESEED_GRACE_SECONDS } from '../run/run-preseed.js';
import type { Clock, JoinAnswer, Logger, NodeStatus } from '../run/types.js';
import { parseAddRequest, planAddPreseed, renderAddPreseed, type AddRequest } from './add-request.js';
import { HEADERS, ReplayGuard, sessionPassphrase, verifyRequest, type JoinRequestIn } from './join-auth.js';

/** Root-only: the key derived from the join passphrase, kept by a member once the passphrase is gone. */
export const JOIN_KEY_PATH = '/var/lib/microcloud-pi/join.key';

export interface MemberRow { readonly name: string; readonly status: string; readonly address?: string }

/** `microcloud cluster list --format json`: name, address (host:port), role, status per member. */
export function parseMembers(stdout: string): MemberRow[] | undefined {
  try {
    const rows = JSON.parse(stdout) as unknown;
    if (!Array.isArray(rows)) return undefined;
    return rows.filter((r) => typeof r?.name === 'string').map((r) => ({
      name: r.name as string, status: String(r.status ?? ''),
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
  /** Publish the session on this member's status. */
  readonly record: (fields: Partial<Pick<NodeStatus, 'adding' | 'added' | 'refused'>>) => void;
}

export class JoinDesk {
  private readonly guard = new ReplayGuard();
  private session: Promise<void> | undefined;
  private sessionFor = '';
  private readonly added: string[] = [];

  constructor(private readonly deps: JoinDeskDeps) {}

  /** Resolves once the add session open now (if any) has ended. */
  async settled(): Promise<void> {
    await this.session;
  }

  async handle(request: JoinRequestIn): Promise<JoinAnswer> {
    const answer = await this.decide(request);
    if (answer.status === 202) return answer;
    this.deps.log.warn(`join: refused a request from ${request.source}: ${answer.reason}`);
    // An authentic node turned away for a reason a person can act on: shown on this member's status too.
    if (answer.node && (answer.status === 403 || answer.status === 409))
      this.deps.record({ refused: { node: answer.node, reason: answer.reason!, at: new Date(this.deps.clock.now()).toISOString() } });
    return { status: answer.status, ...(answer.reason ? { reason: answer.reason } : {}) };
  }

  private async decide(request: JoinRequestIn): Promise<JoinAnswer & { node?: string }> {
    const { config, key, clock } = this.deps;
    const subnet = parseCidr(config.subnet)!;
    const verdict = verifyRequest(key, request, clock.now(), this.guard, (a) => cidrContains(subnet, a));
    if (!verdict.ok) return { status: verdict.status, reason: verdict.reason };
    const parsed = parseAddRequest(request.body, request.source, config.subnet);
    if (!parsed.ok) return { status: 400, reason: parsed.reason };
    const add = parsed.value;
    if (!config.join.grow)
      return { node: add.node, status: 403, reason: `microcloud.grow is false for this cluster: a person adds ${add.node} (microcloud add on a member)` };
    if (this.session) return { status: 503, reason: `${config.node} is adding ${this.sessionFor} now; ask again in a minute` };
    if (add.node === config.node) return { node: add.node, status: 409, reason: `${add.node} is this member's own name` };

    const listed = await this.deps.run('microcloud', ['cluster', 'list', '--format', 'json']);
    const members = listed.exitCode === 0 ? parseMembers(listed.stdout) : undefined;
    if (!members) return { status: 503, reason: `${config.node} cannot list the cluster's members right now` };
    const sameName = members.find((m) => m.name === add.node);
    const sameAddress = members.find((m) => m.address === add.address && m.name !== add.node);
    if (sameAddress) return { node: add.node, status: 409, reason: `${add.address} is the address of the member ${sameAddress.name}` };
    if (sameName && sameName.status.toUpperCase() === 'ONLINE')
      return { node: add.node, status: 409, reason: `${add.node} is already an online member of the cluster; two machines cannot share a name` };
    if (sameName && !add.replace)
      return { node: add.node, status: 409, reason: `${add.node} is still a member of the cluster (${sameName.status.toLowerCase() || 'offline'}). If that Pi is `
        + `dead, rebuild this one with build-image --node ${add.node} --replace and flash it again` };

    if (sameName) {
      // Replacing: the dead member goes first (MicroCloud refuses a name that is still a member).
      this.deps.log.info(`join: removing the offline member ${add.node}, replaced by the Pi at ${add.address}`);
      const removed = await this.deps.run('microcloud', ['remove', add.node, '--force']);
      if (removed.exitCode !== 0) return { status: 503, reason: `${config.node} could not remove the offline ${add.node}: ${removed.stderr.trim()}` };
    }
    this.open(add, request.headers[HEADERS.nonce]!, !!sameName);
    return { status: 202 };
  }

  /** The add session runs in the background: the new node starts its side as soon as it has the answer. */
  private open(add: AddRequest, nonce: string, replacing: boolean): void {
    const { config, key, run, log, clock } = this.deps;
    const passphrase = sessionPassphrase(key, nonce);
    const preseed = renderAddPreseed(planAddPreseed(config, { name: config.node, address: config.address }, add, passphrase));
    this.sessionFor = add.node;
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
      this.session = undefined;
      this.deps.record({ adding: undefined, added: [...this.added] });
    });
  }
}
