// The cluster's join key, so `build-image status` can tell a node's signed status from an
// answer anyone could send: derived from the passphrase the build put on the cards
// (MICROCLOUD_PI_PASSPHRASE, as for the build, else the secrets file beside the cluster file).
// With the operator key too (MICROCLOUD_PI_OPERATOR_KEY, else the secrets file), a status counts
// only when the node the operator built for that address signed it with its card's own key: the
// holder of another card cannot show the operator a node as done.
// Read only: a secrets file created here would hand the next build a passphrase no node has.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseDocument } from 'yaml';
import { deriveJoinKey, type AnswerTrust } from '../firstboot/join/join-auth.js';
import { operatorPublicKey } from '../firstboot/join/join-ticket.js';
import { loadOrCreateSecrets, secretsPathFor } from './config/secrets.js';

/** The key, or why there is none (every answer is then unverified). */
export type StatusKey = { readonly key: AnswerTrust } | { readonly key?: undefined; readonly problem: string };

/** The public half of an operator key as the secrets file or the environment gives it; undefined when it is not one. */
function publicHalf(privateKey: unknown): string | undefined {
  if (typeof privateKey !== 'string' || !privateKey.trim()) return undefined;
  try {
    return operatorPublicKey(privateKey.trim());
  } catch {
    return undefined;
  }
}

const trust = async (passphrase: string, cluster: string, operatorKey: unknown): Promise<AnswerTrust> => {
  const publicKey = publicHalf(operatorKey);
  return { joinKey: await deriveJoinKey(passphrase, cluster), cluster, ...(publicKey ? { operatorKey: publicKey } : {}) };
};

const WITHOUT_KEY = 'so no status can be checked against the cluster\'s join key: every node that answers is shown as unverified, '
  + 'and --watch cannot end with every node done.';

export async function statusKey(clusterFile: string, clusterName: string, env: Readonly<Record<string, string | undefined>>): Promise<StatusKey> {
  const fromEnv = env.MICROCLOUD_PI_PASSPHRASE;
  if (fromEnv !== undefined) {
    // With a passphrase from the environment no file is touched; the build's length check applies.
    const { secrets } = await loadOrCreateSecrets(clusterFile, { passphraseFromEnv: fromEnv,
      ...(env.MICROCLOUD_PI_OPERATOR_KEY !== undefined ? { operatorKeyFromEnv: env.MICROCLOUD_PI_OPERATOR_KEY } : {}) });
    return { key: await trust(secrets.sessionPassphrase, clusterName, secrets.operatorKey) };
  }
  const file = secretsPathFor(clusterFile);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return { problem: `${file}: not found beside ${basename(clusterFile)}, ${WITHOUT_KEY} `
      + 'Run status with the cluster file the images were built from (the first build wrote the secrets file beside it), '
      + 'or set MICROCLOUD_PI_PASSPHRASE to the cluster\'s join passphrase.' };
  }
  const doc = parseDocument(text);
  const passphrase: unknown = doc.errors.length ? undefined : doc.get('session_passphrase');
  if (typeof passphrase !== 'string' || !passphrase)
    return { problem: `${file}: has no session_passphrase, ${WITHOUT_KEY} Restore the file from a backup.` };
  return { key: await trust(passphrase, clusterName, doc.get('operator_key')) };
}
