// Where this node's copy of the cluster's join key comes from: the root-only file a member keeps
// after first boot, or, before that, derived from the passphrase in the root-only preseed.
import type { NodeConfig } from '../../builder/render/node-config.js';
import { passphraseOf } from '../run/run-preseed.js';
import type { FileAccess } from '../run/types.js';
import { deriveJoinKey } from './join-auth.js';

/** Root-only: the key derived from the join passphrase, kept by a member once the passphrase is gone. */
export const JOIN_KEY_PATH = '/var/lib/microcloud-pi/join.key';

export interface LoadedKey { readonly key: Buffer; readonly derivedInMs?: number }

/** The key, and how long deriving it took when it came from the passphrase (scrypt takes time on purpose). */
export async function loadJoinKey(files: FileAccess, config: NodeConfig): Promise<LoadedKey | undefined> {
  const kept = (await files.read(JOIN_KEY_PATH))?.trim();
  if (kept && /^[0-9a-f]{64}$/.test(kept)) return { key: Buffer.from(kept, 'hex') };
  const preseed = await files.read(config.preseedPath);
  const passphrase = preseed === undefined ? undefined : passphraseOf(preseed);
  if (!passphrase) return undefined;
  const started = performance.now();
  const key = await deriveJoinKey(passphrase, config.cluster);
  return { key, derivedInMs: performance.now() - started };
}
