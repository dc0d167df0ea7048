// An add session's passphrase, known to the member and the joiners of its batch and nobody else.
// It used to be derived from the join key and the batch's id, which travels in the clear: any
// card holder on the LAN (a spent, revoked or expired card) could derive it and join a machine in
// a newcomer's place, and even if the member removes it after the session (microcloud-cert.ts),
// it has had the cluster's secrets. Now the member draws a random secret per batch and seals it
// to each joiner's X25519 key (in its operator-sealed identity, node-identity.ts): ECDH with the
// member's own key, HKDF-SHA256, AES-256-GCM bound to the batch and the node. Pure, but for the
// random draws.
import { createCipheriv, createDecipheriv, createHmac, diffieHellman, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { dhPublicKeyOf } from './node-identity.js';

export const newSessionSecret = (): Buffer => randomBytes(32);

/** The passphrase both sides give `microcloud preseed`, from the batch's secret. */
export const sessionPassphraseOf = (secret: Buffer, batch: string): string =>
  createHmac('sha256', secret).update(`session v2\n${batch}`).digest('base64url').slice(0, 32);

interface SealContext { readonly batch: string; readonly node: string }

function keyFor(own: KeyObject, peer: string, context: SealContext): Buffer | undefined {
  const publicKey = dhPublicKeyOf(peer);
  if (!publicKey) return undefined;
  const shared = diffieHellman({ privateKey: own, publicKey });
  return Buffer.from(hkdfSync('sha256', shared, context.batch, `microcloud-pi session-secret v1\n${context.node}`, 32));
}

const aad = (context: SealContext) => Buffer.from(`${context.batch}\n${context.node}`);

/** The secret sealed by the member (`own`: its X25519 key) to the joiner's public key; base64url of nonce, ciphertext and tag. */
export function sealSecret(secret: Buffer, own: KeyObject, joiner: string, context: SealContext): string | undefined {
  const key = keyFor(own, joiner, context);
  if (!key) return undefined;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad(context));
  const sealed = Buffer.concat([cipher.update(secret), cipher.final()]);
  return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
}

/** The secret, opened by the joiner (`own`) with the member's public key; undefined when it was not sealed to it for this batch. */
export function openSecret(text: string, own: KeyObject, member: string, context: SealContext): Buffer | undefined {
  const bytes = /^[A-Za-z0-9_-]{1,200}$/.test(text) ? Buffer.from(text, 'base64url') : Buffer.alloc(0);
  const key = keyFor(own, member, context);
  if (!key || bytes.length !== 12 + 32 + 16) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12)).setAAD(aad(context));
    decipher.setAuthTag(bytes.subarray(44));
    return Buffer.concat([decipher.update(bytes.subarray(12, 44)), decipher.final()]);
  } catch {
    return undefined;
  }
}
