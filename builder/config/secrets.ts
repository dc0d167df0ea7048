// The cluster's secrets file: beside the cluster file, mode 0600, created once and reused on
// every later build, so a node rebuilt next month still joins with the same passphrase, and its
// join ticket is signed with the same operator key every member checks.
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { partialPath, watchForLeftovers } from '../output/leftovers.js';
import { ConfigError, type LocatedProblem } from './problems.js';
import { explainSyntaxErrors } from './yaml-syntax.js';
import { asSecret, type ClusterSecrets, type Secret } from './types.js';

const MIN_PASSPHRASE = 16;
const HEADER = '# microcloud-pi cluster secrets. Keep this file: nodes built later need the same passphrase and operator key.\n'
  + '# Never commit it (the .gitignore beside it keeps it out of git).\n';
const KEY_COMMENT = '# operator_key signs each card\'s join ticket; members check tickets against its public half.\n';

export const secretsPathFor = (clusterFile: string): string =>
  join(dirname(clusterFile), `${basename(clusterFile, extname(clusterFile))}.secrets.yaml`);

/** 32 URL-safe characters (192 bits): YAML-safe and easy to copy if ever needed by hand. */
export const generatePassphrase = (random: (bytes: number) => Buffer = randomBytes): string =>
  random(24).toString('base64url');

/** A new Ed25519 private key: PKCS8 DER, base64 (one YAML-safe line). */
export const generateOperatorKey = (): string =>
  generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');

const fail = (file: string, message: string, hint: string, path: string[] = []): never => {
  const located: LocatedProblem = { file, path, message, hint, severity: 'error' };
  throw new ConfigError([located]);
};

// What the cards' cloud-init YAML does not carry reliably (PyYAML refuses C1 controls and reads
// U+0085 as a space), with the other invisible or ill-formed characters (C0 controls, separators,
// a BOM, noncharacters, lone surrogates): in a passphrase, a copying mistake. Any script and emoji stay.
const UNCARRIED = /[\p{Cc}\p{Cs}\p{Noncharacter_Code_Point}\u2028\u2029\uFEFF]/u;

/** What makes `passphrase` unfit for a card, or undefined when nothing does. */
function unfitCharacter(passphrase: string): string | undefined {
  const found = UNCARRIED.exec(passphrase);
  if (!found) return undefined;
  const code = found[0].codePointAt(0)!;
  const kind = code <= 0x9f ? 'a control character' : code === 0x2028 || code === 0x2029 ? 'a line or paragraph separator'
    : code === 0xfeff ? 'a byte order mark' : code >= 0xd800 && code <= 0xdfff ? 'half a surrogate pair, alone' : 'a Unicode noncharacter';
  const at = [...passphrase.slice(0, found.index)].length + 1; // counted in characters, as a person counts
  return `has U+${code.toString(16).toUpperCase().padStart(4, '0')} (${kind}) as character ${at}, which the cards' cloud-init YAML does not carry reliably`;
}

const FIT = 'letters of any script, digits, punctuation and emoji are fine';

const isOperatorKey = (text: unknown): text is string => {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return false;
  try {
    return createPrivateKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'pkcs8' }).asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
};

export interface SecretsOptions {
  /** Overrides the file (CI passes secrets through the environment). */
  readonly passphraseFromEnv?: string;
  /** MICROCLOUD_PI_OPERATOR_KEY: with passphraseFromEnv only. */
  readonly operatorKeyFromEnv?: string;
  readonly random?: (bytes: number) => Buffer;
  readonly newOperatorKey?: () => string;
}

export interface LoadedSecrets {
  readonly secrets: ClusterSecrets;
  readonly file: string;
  readonly created: boolean;
  /** The file had no operator_key and was given one (written whole under a temporary name, then renamed). */
  readonly addedOperatorKey: boolean;
}

/** The operator key from MICROCLOUD_PI_OPERATOR_KEY, checked; undefined when it is not set. */
function operatorKeyFromEnv(text: string | undefined): Secret | undefined {
  if (text === undefined) return undefined;
  if (!isOperatorKey(text.trim()))
    fail('environment', 'is not an Ed25519 private key (PKCS8 DER, base64)',
      'Set it to the operator_key line of the cluster\'s secrets file (what follows "operator_key: ").', ['MICROCLOUD_PI_OPERATOR_KEY']);
  return asSecret(text.trim());
}

export async function loadOrCreateSecrets(clusterFile: string, options: SecretsOptions = {}): Promise<LoadedSecrets> {
  const file = secretsPathFor(clusterFile);
  if (options.passphraseFromEnv !== undefined) {
    if (options.passphraseFromEnv.length < MIN_PASSPHRASE)
      fail('MICROCLOUD_PI_PASSPHRASE', `is shorter than ${MIN_PASSPHRASE} characters`, 'Use a long random passphrase.');
    const unfit = unfitCharacter(options.passphraseFromEnv);
    if (unfit) fail('environment', unfit, `Set it to a passphrase without it (${FIT}).`, ['MICROCLOUD_PI_PASSPHRASE']);
    // Without the variable the cards carry no ticket (the CLI says so): a key made up here would
    // sign tickets for members that check a key nobody keeps.
    const operatorKey = operatorKeyFromEnv(options.operatorKeyFromEnv);
    return { secrets: { sessionPassphrase: asSecret(options.passphraseFromEnv), ...(operatorKey ? { operatorKey } : {}) },
      file: 'environment', created: false, addedOperatorKey: false };
  }
  if (options.operatorKeyFromEnv !== undefined)
    fail('environment', 'is set without MICROCLOUD_PI_PASSPHRASE',
      `Set both (CI), or neither: ${file} holds both.`, ['MICROCLOUD_PI_OPERATOR_KEY']);
  const newKey = options.newOperatorKey ?? generateOperatorKey;
  const created = await createIfMissing(file, generatePassphrase(options.random), newKey());
  let text = await readPrivate(file);
  checkYaml(file, text);
  const passphrase = fieldOf(text, 'session_passphrase');
  if (typeof passphrase !== 'string' || passphrase.length < MIN_PASSPHRASE)
    fail(file, `has no session_passphrase of at least ${MIN_PASSPHRASE} characters`,
      'Restore it from a backup (nodes already flashed use it), or delete the file to generate a new one for a new cluster.',
      ['session_passphrase']);
  const unfit = unfitCharacter(passphrase as string);
  if (unfit)
    fail(file, unfit, `Write session_passphrase again without it (${FIT}), then rebuild every card built with it.`, ['session_passphrase']);
  let addedOperatorKey = false;
  if (fieldOf(text, 'operator_key') === undefined) {
    text = await addOperatorKey(file, text, newKey());
    addedOperatorKey = fieldOf(text, 'operator_key') !== undefined;
  }
  const operatorKey = fieldOf(text, 'operator_key');
  if (operatorKey === undefined)
    fail(file, 'has no operator_key: the file changed while this build added one', 'Run the build again.', ['operator_key']);
  if (!isOperatorKey(operatorKey))
    fail(file, 'is not an Ed25519 private key (PKCS8 DER, base64)',
      'Restore the line from a backup of this file: members already built check join tickets against its public half.', ['operator_key']);
  return { secrets: { sessionPassphrase: asSecret(passphrase as string), operatorKey: asSecret(operatorKey as string) }, file, created, addedOperatorKey };
}

/** The operator key alone, for signing a revocation: never creates or changes the secrets file. */
export async function loadOperatorKey(clusterFile: string, env: { readonly operatorKeyFromEnv?: string } = {}): Promise<Secret> {
  const fromEnv = operatorKeyFromEnv(env.operatorKeyFromEnv);
  if (fromEnv) return fromEnv;
  const file = secretsPathFor(clusterFile);
  if (!(await stat(file).then(() => true, () => false)))
    fail(file, 'does not exist', `Run this beside the cluster file whose cards you built, with its secrets file, or set MICROCLOUD_PI_OPERATOR_KEY.`);
  const text = await readPrivate(file);
  checkYaml(file, text);
  const key = fieldOf(text, 'operator_key');
  if (key === undefined)
    fail(file, 'has no operator_key', 'Cards built from it carry no join ticket and its members check none, so there is nothing to revoke: '
      + 'build any card once to add a key, then rebuild the cards you keep.', ['operator_key']);
  if (!isOperatorKey(key))
    fail(file, 'is not an Ed25519 private key (PKCS8 DER, base64)', 'Restore the line from a backup of this file.', ['operator_key']);
  return asSecret(key as string);
}

async function readPrivate(file: string): Promise<string> {
  const mode = (await stat(file)).mode & 0o777;
  // Windows has no POSIX modes (stat says 0666 for every file): its ACLs keep a user's files private by default.
  if (process.platform !== 'win32' && mode & 0o077)
    fail(file, `is readable by other users (mode ${mode.toString(8).padStart(4, '0')})`,
      `It holds the cluster's join passphrase and operator key: run chmod 600 ${file}.`);
  return readFile(file, 'utf8');
}

/** A secrets file the YAML parser refuses is said to be that, at its line: not "has no session_passphrase". */
function checkYaml(file: string, text: string): void {
  const { errors } = parseDocument(text);
  if (!errors.length) return;
  const mistake = explainSyntaxErrors(text, errors);
  throw new ConfigError([{ file, path: [], severity: 'error', ...(mistake.line ? { line: mistake.line } : {}), message: mistake.message,
    hint: `${mistake.hint} It should hold two lines, session_passphrase: and operator_key:; restore it from a backup if it was damaged `
      + '(cards already built use that passphrase).' }]);
}

const fieldOf = (text: string, name: string): unknown => {
  const doc = parseDocument(text);
  return doc.errors.length ? undefined : doc.get(name);
};

/** Exclusive create: two builds at once never write two different passphrases. */
async function createIfMissing(file: string, passphrase: string, operatorKey: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(`${HEADER}session_passphrase: ${passphrase}\n${KEY_COMMENT}operator_key: ${operatorKey}\n`);
  } finally {
    await handle.close();
  }
  return true;
}

/**
 * The file as it was plus an operator_key line, written whole under a temporary name (0600) and
 * renamed over it: a crash leaves the old file or the new one, never one without the passphrase.
 * Returns the text now in the file.
 */
async function addOperatorKey(file: string, text: string, operatorKey: string): Promise<string> {
  const next = `${text}${text.endsWith('\n') || !text ? '' : '\n'}${KEY_COMMENT}operator_key: ${operatorKey}\n`;
  watchForLeftovers(dirname(file)); // a signal removes the temporary: it holds the passphrase
  const partial = partialPath(file);
  const handle = await open(partial, 'wx', 0o600);
  try {
    await handle.writeFile(next);
    await handle.sync();
  } finally {
    await handle.close();
  }
  // Another build may have added its own key meanwhile: keep that one, so all cards share one key.
  const now = await readFile(file, 'utf8');
  if (now !== text) {
    await rm(partial, { force: true });
    return now;
  }
  await rename(partial, file);
  return next;
}
