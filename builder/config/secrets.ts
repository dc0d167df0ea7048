// The cluster's secrets file: beside the cluster file, mode 0600, created once and reused on
// every later build, so a node rebuilt next month still joins with the same passphrase.
import { randomBytes } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError, type LocatedProblem } from './problems.js';
import { asSecret, type ClusterSecrets } from './types.js';

const MIN_PASSPHRASE = 16;

export const secretsPathFor = (clusterFile: string): string =>
  join(dirname(clusterFile), `${basename(clusterFile, extname(clusterFile))}.secrets.yaml`);

/** 32 URL-safe characters (192 bits): YAML-safe and easy to copy if ever needed by hand. */
export const generatePassphrase = (random: (bytes: number) => Buffer = randomBytes): string =>
  random(24).toString('base64url');

const fail = (file: string, message: string, hint: string, path: string[] = []): never => {
  const located: LocatedProblem = { file, path, message, hint, severity: 'error' };
  throw new ConfigError([located]);
};

export interface SecretsOptions {
  /** Overrides the file (CI passes secrets through the environment). */
  readonly passphraseFromEnv?: string;
  readonly random?: (bytes: number) => Buffer;
}

export async function loadOrCreateSecrets(clusterFile: string, options: SecretsOptions = {}):
  Promise<{ secrets: ClusterSecrets; file: string; created: boolean }> {
  const file = secretsPathFor(clusterFile);
  if (options.passphraseFromEnv !== undefined) {
    if (options.passphraseFromEnv.length < MIN_PASSPHRASE)
      fail('MICROCLOUD_PI_PASSPHRASE', `is shorter than ${MIN_PASSPHRASE} characters`, 'Use a long random passphrase.');
    return { secrets: { sessionPassphrase: asSecret(options.passphraseFromEnv) }, file: 'environment', created: false };
  }
  const created = await createIfMissing(file, generatePassphrase(options.random));
  const mode = (await stat(file)).mode & 0o777;
  // Windows has no POSIX modes (stat says 0666 for every file): its ACLs keep a user's files private by default.
  if (process.platform !== 'win32' && mode & 0o077)
    fail(file, `is readable by other users (mode ${mode.toString(8).padStart(4, '0')})`,
      `It holds the cluster's join passphrase: run chmod 600 ${file}.`);
  const doc = parseDocument(await readFile(file, 'utf8'));
  const passphrase: unknown = doc.errors.length ? undefined : doc.get('session_passphrase');
  if (typeof passphrase !== 'string' || passphrase.length < MIN_PASSPHRASE)
    fail(file, `has no session_passphrase of at least ${MIN_PASSPHRASE} characters`,
      'Restore it from a backup (nodes already flashed use it), or delete the file to generate a new one for a new cluster.',
      ['session_passphrase']);
  return { secrets: { sessionPassphrase: asSecret(passphrase as string) }, file, created };
}

/** Exclusive create: two builds at once never write two different passphrases. */
async function createIfMissing(file: string, passphrase: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(
      '# microcloud-pi cluster secrets. Keep this file: nodes built later need the same passphrase.\n'
      + '# Never commit it (the .gitignore beside it keeps it out of git).\n'
      + `session_passphrase: ${passphrase}\n`);
  } finally {
    await handle.close();
  }
  return true;
}
