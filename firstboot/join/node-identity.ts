// A node's own signing key, and the operator's word that it is that node's. The join key is on
// every card, so an answer signed with it only proves it comes from some card of this cluster:
// the holder of any card (a lost one, a dead Pi's) could answer in a member's place, tell a
// booting node that the cluster is formed, hand it a plan, or show the operator "done". With a
// key of its own per card, sealed by the operator with the node's name and address, an answer
// proves which node gave it, and a card can speak only for the node it was built for.
// The private key is derived from the operator's key and what the identity says, so a build
// (and a release with MICROCLOUD_PI_TICKET_TIME) gives the same card twice; pure functions.
import { createHmac, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { isText, isTime, open, privateKeyOf, publicKeyOf, rawPublicKey, seal, type OperatorKey, type Read } from './operator-seal.js';

/** Root-only on the Pi: the node's private key (PKCS8 DER, base64), written by cloud-init from user-data. */
export const NODE_KEY_PATH = '/var/lib/microcloud-pi/node.key';

/** Answer headers: the identity (sealed by the operator) and the node's signature over the answer. */
export const IDENTITY_HEADERS = { identity: 'x-mcpi-identity', signature: 'x-mcpi-node-signature' } as const;

export interface IdentityFields {
  readonly cluster: string;
  readonly node: string;
  /** The node's intra-cluster address: the only one it may answer from. */
  readonly address: string;
  /** Milliseconds since the epoch: the build's issue time (the card's ticket has the same). */
  readonly issued: number;
}
export interface NodeIdentity extends IdentityFields {
  readonly v: 1;
  /** The node's Ed25519 public key, raw 32 bytes, base64. */
  readonly key: string;
  /** The node's X25519 public key, raw 32 bytes, base64: what a member seals an add session's secret to (session-secret.ts). */
  readonly dh?: string;
}

/** What a card carries to sign its answers (its private key, its identity to send along) and to open what is sealed to it. */
export interface NodeSigner { readonly privateKey: KeyObject; readonly identity: string; readonly dhKey: KeyObject }

// PKCS8 DER of an Ed25519 private key is this 16-byte header and the 32-byte seed.
const PKCS8_HEADER = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The node's private key (PKCS8 DER, base64): an HMAC of everything its identity says, keyed with the operator's key. */
export function nodePrivateKey(operatorKey: OperatorKey, fields: IdentityFields): string {
  const secret = privateKeyOf(operatorKey).export({ format: 'der', type: 'pkcs8' });
  const seed = createHmac('sha256', secret)
    .update(['microcloud-pi node-key v1', fields.cluster, fields.node, fields.address, String(fields.issued)].join('\n')).digest();
  return Buffer.concat([PKCS8_HEADER, seed]).toString('base64');
}

// PKCS8 DER of an X25519 private key: this 16-byte header and the 32-byte key; an SPKI: 12 bytes and the public key.
const X25519_PKCS8_HEADER = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI_HEADER = Buffer.from('302a300506032b656e032100', 'hex');

/** The node's X25519 key, derived from its Ed25519 key's seed: the node file holds one key, and both sides compute the same. */
export function dhKeyOf(privateKey: string | KeyObject): KeyObject {
  const pkcs8 = typeof privateKey === 'string' ? Buffer.from(privateKey, 'base64') : privateKey.export({ format: 'der', type: 'pkcs8' });
  const seed = createHmac('sha256', pkcs8.subarray(PKCS8_HEADER.length)).update('microcloud-pi node-dh v1').digest();
  return createPrivateKey({ key: Buffer.concat([X25519_PKCS8_HEADER, seed]), format: 'der', type: 'pkcs8' });
}

/** A raw X25519 public key (base64) as a KeyObject; undefined when it is not one. */
export function dhPublicKeyOf(raw: string): KeyObject | undefined {
  const bytes = Buffer.from(raw, 'base64');
  if (bytes.length !== 32) return undefined;
  try {
    return createPublicKey({ key: Buffer.concat([X25519_SPKI_HEADER, bytes]), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

const rawDhPublicKey = (dhKey: KeyObject): string =>
  createPublicKey(dhKey).export({ format: 'der', type: 'spki' }).subarray(X25519_SPKI_HEADER.length).toString('base64');

/** The card's private key and its identity, sealed with the operator's key. */
export function issueIdentity(operatorKey: OperatorKey, fields: IdentityFields): { readonly privateKey: string; readonly identity: string } {
  const privateKey = nodePrivateKey(operatorKey, fields);
  const { cluster, node, address, issued } = fields;
  return { privateKey, identity: seal('identity', operatorKey,
    { v: 1, cluster, node, address, issued, key: rawPublicKey(privateKey), dh: rawDhPublicKey(dhKeyOf(privateKey)) }) };
}

/** The identity in `text` if the operator signed it. */
export function readIdentity(operatorPublicKey: string, text: string): Read<NodeIdentity> {
  const opened = open('identity', operatorPublicKey, text);
  if (!opened.ok) return opened;
  const i = opened.value;
  if (!isText(i.cluster) || !isText(i.node) || !isText(i.address) || !isTime(i.issued) || typeof i.key !== 'string' || !publicKeyOf(i.key))
    return { ok: false, reason: 'its payload lacks cluster, node, address, issued or an Ed25519 key' };
  if (i.dh !== undefined && (typeof i.dh !== 'string' || !dhPublicKeyOf(i.dh))) return { ok: false, reason: 'its dh is not an X25519 key' };
  return { ok: true, value: { v: 1, cluster: i.cluster, node: i.node, address: i.address, issued: i.issued, key: i.key,
    ...(typeof i.dh === 'string' ? { dh: i.dh } : {}) } };
}

/** The signer from the root-only key file's text and node.json's identity; undefined when either is missing or they do not match. */
export function nodeSigner(keyText: string | undefined, identity: string | undefined, operatorPublicKey: string | undefined): NodeSigner | undefined {
  if (!keyText?.trim() || !identity || !operatorPublicKey) return undefined;
  const read = readIdentity(operatorPublicKey, identity);
  if (!read.ok) return undefined;
  try {
    const privateKey = createPrivateKey({ key: Buffer.from(keyText.trim(), 'base64'), format: 'der', type: 'pkcs8' });
    return rawPublicKey(privateKey) === read.value.key ? { privateKey, identity, dhKey: dhKeyOf(privateKey) } : undefined;
  } catch {
    return undefined;
  }
}

export const signAsNode = (signer: NodeSigner, message: string): string => sign(null, Buffer.from(message), signer.privateKey).toString('base64url');

/** What an answer must hold to: the cluster, and the address that was asked. */
export interface IdentityScope { readonly operatorKey: string; readonly cluster: string; readonly responder: string }

/**
 * The identity of the node that signed `message`, when the operator sealed it for this cluster
 * and the address that answered, and the node's key signed the message; otherwise why not.
 */
export function signedByNode(scope: IdentityScope, message: string, identity: string | undefined, signature: string | undefined): Read<NodeIdentity> {
  if (!identity || !signature) return { ok: false, reason: 'the answer carries no node identity' };
  const read = readIdentity(scope.operatorKey, identity);
  if (!read.ok) return read;
  const i = read.value;
  if (i.cluster !== scope.cluster) return { ok: false, reason: `the identity is of cluster ${i.cluster}` };
  if (i.address !== scope.responder) return { ok: false, reason: `the identity is ${i.node}'s at ${i.address}, not ${scope.responder}'s` };
  const key = publicKeyOf(i.key)!;
  const bytes = /^[A-Za-z0-9_-]{86}$/.test(signature) ? Buffer.from(signature, 'base64url') : Buffer.alloc(0);
  if (bytes.length !== 64 || !verify(null, Buffer.from(message), key, bytes)) return { ok: false, reason: 'the node\'s signature does not hold' };
  return read;
}
