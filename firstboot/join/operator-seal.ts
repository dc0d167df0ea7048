// Texts the operator signs and every card checks offline: a payload (JSON, base64url) and its
// Ed25519 signature under a label of its kind, so one kind can never pass as another (a join
// ticket as a revocation, a node's identity as a ticket, `serve`'s clock as any of them). Ed25519 from node:crypto: signatures
// are deterministic, so sealing is a pure function of the key and the payload.
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** The operator's private key: PKCS8 DER, base64 (as in the secrets file), or a KeyObject. */
export type OperatorKey = string | KeyObject;

export type Read<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Tickets, revocations and identities are a few hundred characters; anything much longer is not one. */
export const MAX_SEALED_CHARS = 2048;

export const LABEL = {
  ticket: 'microcloud-pi join-ticket v1',
  revocation: 'microcloud-pi join-revocation v1',
  identity: 'microcloud-pi node-identity v1',
  time: 'microcloud-pi site-time v1',
} as const;
export type SealKind = keyof typeof LABEL;
const signedText = (kind: SealKind, payload: string) => Buffer.from(`${LABEL[kind]}\n${payload}`);

export const privateKeyOf = (key: OperatorKey): KeyObject =>
  typeof key === 'string' ? createPrivateKey({ key: Buffer.from(key, 'base64'), format: 'der', type: 'pkcs8' }) : key;

// An Ed25519 SPKI is this 12-byte header and the raw 32-byte key.
const SPKI_HEADER = Buffer.from('302a300506032b6570032100', 'hex');

/** A public key as node.json carries it: the raw 32-byte key, base64. */
export function rawPublicKey(privateKey: OperatorKey): string {
  const spki = createPublicKey(privateKeyOf(privateKey)).export({ format: 'der', type: 'spki' });
  return spki.subarray(SPKI_HEADER.length).toString('base64');
}

/** A public key given as the raw 32 bytes or as an SPKI, base64; undefined when it is neither. */
export function publicKeyOf(text: string): KeyObject | undefined {
  const bytes = Buffer.from(text, 'base64');
  const spki = bytes.length === 32 ? Buffer.concat([SPKI_HEADER, bytes]) : bytes;
  if (spki.length !== 44 || !spki.subarray(0, 12).equals(SPKI_HEADER)) return undefined;
  try {
    return createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

export function seal(kind: SealKind, privateKey: OperatorKey, body: object): string {
  const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${payload}.${sign(null, signedText(kind, payload), privateKeyOf(privateKey)).toString('base64url')}`;
}

/** The payload of a sealed text, once its signature holds under `publicKey`. */
export function open(kind: SealKind, publicKey: string, text: string): Read<Record<string, unknown>> {
  const key = publicKeyOf(publicKey);
  if (!key) return { ok: false, reason: 'the member\'s operator key is not an Ed25519 public key' };
  if (text.length > MAX_SEALED_CHARS) return { ok: false, reason: `it is over ${MAX_SEALED_CHARS} characters` };
  const match = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{86})$/.exec(text.trim());
  if (!match) return { ok: false, reason: 'it is not a payload and a signature in base64url' };
  const [, payload, signature] = match as unknown as [string, string, string];
  if (!verify(null, signedText(kind, payload), key, Buffer.from(signature, 'base64url')))
    return { ok: false, reason: 'its signature does not hold under this cluster\'s operator key' };
  try {
    const body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    if (body && typeof body === 'object' && !Array.isArray(body) && (body as { v?: unknown }).v === 1)
      return { ok: true, value: body as Record<string, unknown> };
  } catch { /* signed but not JSON: reported below */ }
  return { ok: false, reason: 'its payload is not a version 1 object' };
}

export const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256;
// Up to the latest moment a Date can hold, so every time in a message can be written out.
export const isTime = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= 8.64e15;
