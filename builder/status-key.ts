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
import { explainSyntaxErrors } from './config/yaml-syntax.js';
import { readRevoked, type Revoked } from './revocations.js';

/** The key, or why there is none (every answer is then unverified). */
export type StatusKey = { readonly key: AnswerTrust; readonly warning?: string } | { readonly key?: undefined; readonly problem: string };

const NO_OPERATOR_KEY = 'no operator key (MICROCLOUD_PI_OPERATOR_KEY, or operator_key in the secrets file): answers are checked '
  + 'against the join key alone, which every card of the cluster holds, so the holder of any card could answer for any node. '
  + 'Give the operator key to check that each node answers for itself.';

/** The public half of an operator key as the secrets file or the environment gives it; undefined when it is not one. */
function publicHalf(privateKey: unknown): string | undefined {
  if (typeof privateKey !== 'string' || !privateKey.trim()) return undefined;
  try {
    return operatorPublicKey(privateKey.trim());
  } catch {
    return undefined;
  }
}

const trust = async (passphrase: string, cluster: string, operatorKey: unknown, revoked: Revoked): Promise<{ key: AnswerTrust; warning?: string }> => {
  const publicKey = publicHalf(operatorKey);
  return { key: { joinKey: await deriveJoinKey(passphrase, cluster), cluster, ...(publicKey ? { operatorKey: publicKey } : {}),
    ...(Object.keys(revoked).length ? { revoked } : {}) }, ...(publicKey ? {} : { warning: NO_OPERATOR_KEY }) };
};

/** The secrets file's text, or undefined when there is none beside the cluster file. */
async function secretsText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const WITHOUT_KEY = 'so no status can be checked against the cluster\'s join key: every node that answers is shown as unverified, '
  + 'and --watch cannot end with every node done.';

/**
 * `operatorKey`: the private key the caller already holds (revoke); otherwise the environment's,
 * else the secrets file's (read, never written), whichever way the passphrase came.
 */
export async function statusKey(clusterFile: string, clusterName: string, env: Readonly<Record<string, string | undefined>>,
  operatorKey?: string): Promise<StatusKey> {
  const file = secretsPathFor(clusterFile);
  const fromEnv = env.MICROCLOUD_PI_PASSPHRASE;
  if (fromEnv !== undefined) {
    // With a passphrase from the environment the secrets file is only read (for the operator key); the build's length check applies.
    const { secrets } = await loadOrCreateSecrets(clusterFile, { passphraseFromEnv: fromEnv,
      ...(env.MICROCLOUD_PI_OPERATOR_KEY !== undefined ? { operatorKeyFromEnv: env.MICROCLOUD_PI_OPERATOR_KEY } : {}) });
    const beside = operatorKey ?? secrets.operatorKey ?? await secretsText(file).then((text) => {
      const doc = text === undefined ? undefined : parseDocument(text);
      return doc && !doc.errors.length ? doc.get('operator_key') : undefined;
    });
    return trust(secrets.sessionPassphrase, clusterName, beside, await readRevoked(clusterFile));
  }
  const text = await secretsText(file);
  if (text === undefined) {
    return { problem: `${file}: not found beside ${basename(clusterFile)}, ${WITHOUT_KEY} `
      + 'Run status with the cluster file the images were built from (the first build wrote the secrets file beside it), '
      + 'or set MICROCLOUD_PI_PASSPHRASE to the cluster\'s join passphrase.' };
  }
  const doc = parseDocument(text);
  if (doc.errors.length) {
    const mistake = explainSyntaxErrors(text, doc.errors);
    return { problem: `${file}${mistake.line ? `:${mistake.line}` : ''}: is not valid YAML (${mistake.message}), ${WITHOUT_KEY} `
      + 'Restore the file from a backup: it should hold two lines, session_passphrase: and operator_key:.' };
  }
  const passphrase: unknown = doc.get('session_passphrase');
  if (typeof passphrase !== 'string' || !passphrase)
    return { problem: `${file}: has no session_passphrase, ${WITHOUT_KEY} Restore the file from a backup.` };
  return trust(passphrase, clusterName, operatorKey ?? env.MICROCLOUD_PI_OPERATOR_KEY ?? doc.get('operator_key'), await readRevoked(clusterFile));
}
