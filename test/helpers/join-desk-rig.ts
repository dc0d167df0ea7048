// A formed member's join desk on its own, for the desk's tests: pi1 at 127.0.0.11 of a 3-node
// `loop` cluster, MicroCloud's TEST DOUBLE with the members given, and a clock the test moves
// (sleeping advances it); and requests signed as a new node would sign them.
import { createHash, randomBytes } from 'node:crypto';
import { cardSignRequest, HEADERS, signRequest, ticketMac, type JoinRequestIn } from '../../firstboot/join/join-auth.js';
import { JoinDesk } from '../../firstboot/join/join-desk.js';
import { operatorPublicKey, TICKET_HEADER } from '../../firstboot/join/join-ticket.js';
import { IDENTITY_HEADERS, issueIdentity, nodeSigner } from '../../firstboot/join/node-identity.js';
import { TEST_ISSUED_MS, TEST_OPERATOR_KEY } from './operator-key.js';
import type { FileAccess, NodeStatus } from '../../firstboot/run/types.js';
import type { SeedOptions } from '../../builder/render/node-config.js';
import { FakeMicroCloud, type FakeFiles } from '../doubles/fake-host.js';
import { cluster, quietLog, rig } from './first-boot-rig.js';

export const DESK_START = Date.UTC(2026, 10, 23, 12);

export interface DeskOptions {
  readonly key: Buffer;
  readonly name?: string;
  readonly online?: readonly string[];
  readonly offline?: readonly string[];
  readonly grow?: boolean;
  /** How long `microcloud cluster list` takes, in wall-clock ms. */
  readonly listDelayMs?: number;
  /** The disk of a member before a restart: its saved nonces come back with it. */
  readonly files?: FakeFiles;
  /** The desk's own disk instead of the rig's double (the real file adapter on a folder, say). */
  readonly deskFiles?: FileAccess;
  /** How pi1's card was built (with an operator key and a ticket: the desk checks joiners' tickets). */
  readonly seed?: SeedOptions;
  /** The nodes pi1 formed the cluster with (their cards are spent). */
  readonly founders?: readonly string[];
}

export async function memberDesk(options: DeskOptions) {
  const cloud = new FakeMicroCloud(['pi1', 'pi2', 'pi3'], 'pi1', 400);
  cloud.members = [...(options.online ?? ['pi1', 'pi2', 'pi3']), ...(options.offline ?? [])];
  for (const n of options.offline ?? []) cloud.offline.add(n);
  cloud.listDelayMs = options.listDelayMs ?? 0;
  const r = await rig(options.name ?? 'pi1', cluster(3, { ...(options.grow !== undefined ? { grow: options.grow } : {}) }), cloud, options.seed ?? {});
  if (options.files) for (const [p, f] of options.files.files) r.files.files.set(p, { ...f });
  r.host.initialised = true;
  const log: string[] = [];
  // Sleeping moves the clock and yields to the event loop (a gathering batch polls it).
  const clock = { at: DESK_START, now: () => clock.at, sleep: async (ms: number) => { clock.at += ms; await new Promise((res) => setTimeout(res, 1)); } };
  const statuses: Partial<NodeStatus>[] = [];
  const desk = await JoinDesk.open({ config: r.config, key: options.key, run: r.host.run, log: quietLog(log), clock, files: options.deskFiles ?? r.files,
    record: (f) => statuses.push(f), ...(options.founders ? { founders: options.founders } : {}) });
  return { desk, log, clock, cloud, r, statuses };
}

/** An add request's body for piN at 127.0.0.(10+N). */
/** `node`'s MicroCloud certificate as a stand-in PEM (its DER: these bytes; nothing parses X.509 here). */
const certificateBytes = (node: string) => Buffer.from(`certificate of ${node}`);
export const certificateOf = (node: string) => `-----BEGIN CERTIFICATE-----\n${certificateBytes(node).toString('base64')}\n-----END CERTIFICATE-----\n`;
/** What `node`'s MicroCloud sends when it reaches out to a session (for tests that run its side by hand). */
export const intentOf = (node: string) => ({ address: `127.0.0.${10 + Number(node.slice(2))}`, certificate: certificateOf(node) });

/** A join request's body as `node` sends it, with the fingerprint of its certificate (certificateOf). */
export const addBody = (node = 'pi4', over: Record<string, unknown> = {}) =>
  JSON.stringify({ node, address: `127.0.0.${10 + Number(node.slice(2))}`, replace: false, system: { name: node },
    fingerprint: createHash('sha256').update(certificateBytes(node)).digest('hex'), ...over });

/** A request as a new node signs it: for `to` (pi1), from `from` (pi4), at `at`. */
/** `ticket`: the card's ticket, sent with the join key's word that it belongs to this request (`ticketMac: false`: without it). */
export function signedJoin(key: Buffer, body: string, options: { path?: string; to?: string; from?: string; at?: number; ticket?: string; ticketMac?: false } = {}):
  JoinRequestIn & { readonly headers: Readonly<Record<string, string>> } {
  const source = options.from ?? '127.0.0.14';
  const path = options.path ?? '/join';
  const s = signRequest(key, { method: 'POST', path, member: options.to ?? '127.0.0.11', sender: source }, body,
    options.at ?? DESK_START, randomBytes(16).toString('hex'));
  // A ticketed card sends its identity too: the one built with the ticket, for the node and address its body names.
  const asked = (options.ticket ? JSON.parse(body) : {}) as { node?: unknown; address?: unknown };
  const built = options.ticket && typeof asked.node === 'string' && typeof asked.address === 'string'
    ? issueIdentity(TEST_OPERATOR_KEY, { cluster: 'loop', node: asked.node, address: asked.address, issued: TEST_ISSUED_MS }) : undefined;
  const card = built && nodeSigner(built.privateKey, built.identity, operatorPublicKey(TEST_OPERATOR_KEY));
  const cardSignature = card && cardSignRequest(card, { method: 'POST', path, member: options.to ?? '127.0.0.11', sender: source }, body, s.timestamp, s.nonce);
  return { source, method: 'POST', path, body, headers: { [HEADERS.timestamp]: s.timestamp, [HEADERS.nonce]: s.nonce, [HEADERS.signature]: s.signature,
    ...(options.ticket ? { [TICKET_HEADER]: options.ticket } : {}),
    ...(card && cardSignature ? { [IDENTITY_HEADERS.identity]: card.identity, [HEADERS.cardSignature]: cardSignature } : {}),
    ...(options.ticket && options.ticketMac !== false ? { [HEADERS.ticketMac]: ticketMac(key, s.nonce, options.ticket) } : {}) } };
}
