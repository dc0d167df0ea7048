// The secrets file in a real temporary folder: created with a passphrase and an operator key, an
// older file given a key by a rename (never edited in place, never readable by others, the
// passphrase kept), and the environment's secrets for CI.
import { tempDir } from './helpers/temp-dir.js';
import { writeFileSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { generateOperatorKey, loadOperatorKey, loadOrCreateSecrets, secretsPathFor } from '../builder/config/secrets.js';
import { ConfigError, formatProblem } from '../builder/config/problems.js';
import { issueTicket, operatorPublicKey, readTicket } from '../firstboot/join/join-ticket.js';

const OLD = '# microcloud-pi cluster secrets. Keep this file: nodes built later need the same passphrase.\n'
  + '# Never commit it (the .gitignore beside it keeps it out of git).\n'
  + 'session_passphrase: an-old-passphrase-0123456789\n';

async function folder() {
  const dir = await tempDir('mcpi-secrets-');
  const config = join(dir, 'cluster.yaml');
  return { dir, config, secrets: secretsPathFor(config) };
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;
const messageOf = async (promise: Promise<unknown>) => {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).problems.map(formatProblem).join('\n');
};

describe('the secrets file', () => {
  it('is created with a passphrase and an operator key that signs tickets, mode 0600', async () => {
    const f = await folder();
    const { secrets, created, addedOperatorKey } = await loadOrCreateSecrets(f.config);
    expect([created, addedOperatorKey]).toEqual([true, false]);
    expect(await mode(f.secrets)).toBe(0o600);
    const doc = load(await readFile(f.secrets, 'utf8')) as Record<string, string>;
    expect(doc.operator_key).toBe(secrets.operatorKey);
    const fields = { cluster: 'shelf', node: 'pi1', address: '10.0.0.11', replace: false, issued: 1, expires: 2 };
    expect(readTicket(operatorPublicKey(secrets.operatorKey!), issueTicket(secrets.operatorKey!, fields))).toMatchObject({ ok: true });
    const again = await loadOrCreateSecrets(f.config);
    expect(again).toMatchObject({ created: false, addedOperatorKey: false, secrets });
  });

  it('without an operator key gains one, written whole under another name and renamed: passphrase and comments kept, mode 0600', async () => {
    const f = await folder();
    await writeFile(f.secrets, OLD, { mode: 0o600 });
    const before = await stat(f.secrets);
    const { secrets, created, addedOperatorKey } = await loadOrCreateSecrets(f.config);
    expect([created, addedOperatorKey]).toEqual([false, true]);
    expect(secrets.sessionPassphrase).toBe('an-old-passphrase-0123456789');
    const text = await readFile(f.secrets, 'utf8');
    expect(text.startsWith(OLD)).toBe(true);
    expect(text.slice(OLD.length)).toMatch(/^# operator_key signs each card's join ticket.*\noperator_key: [A-Za-z0-9+/=]+\n$/);
    const after = await stat(f.secrets);
    expect(after.ino).not.toBe(before.ino); // a new file renamed into place, not the old one edited
    expect(after.mode & 0o777).toBe(0o600);
    expect(await readdir(f.dir)).toEqual(['cluster.secrets.yaml']); // no temporary left
    expect((await loadOrCreateSecrets(f.config)).secrets.operatorKey).toBe(secrets.operatorKey); // kept from then on
  });

  it('keeps the key another build added while this one was adding its own', async () => {
    const f = await folder();
    await writeFile(f.secrets, OLD, { mode: 0o600 });
    const theirs = generateOperatorKey();
    let calls = 0;
    const { secrets } = await loadOrCreateSecrets(f.config, {
      newOperatorKey: () => {
        // The second call is this build's key for the old file: the other build's lands first.
        if (++calls === 2) writeFileSync(f.secrets, `${OLD}operator_key: ${theirs}\n`);
        return generateOperatorKey();
      },
    });
    expect(secrets.operatorKey).toBe(theirs);
    expect(await readFile(f.secrets, 'utf8')).toBe(`${OLD}operator_key: ${theirs}\n`);
    expect(await readdir(f.dir)).toEqual(['cluster.secrets.yaml']);
  });

  it('refuses an operator_key that is not an Ed25519 private key, naming the field', async () => {
    const f = await folder();
    await writeFile(f.secrets, `${OLD}operator_key: bm90IGEga2V5\n`, { mode: 0o600 });
    expect(await messageOf(loadOrCreateSecrets(f.config))).toMatch(
      /cluster\.secrets\.yaml: operator_key: is not an Ed25519 private key.*Restore the line from a backup/);
  });

  it('refuses to add a key to a file others can read, and leaves it as it was', async () => {
    const f = await folder();
    await writeFile(f.secrets, OLD, { mode: 0o644 });
    expect(await messageOf(loadOrCreateSecrets(f.config))).toMatch(/readable by other users \(mode 0644\).*chmod 600/);
    expect(await readFile(f.secrets, 'utf8')).toBe(OLD);
  });
});

// A passphrase cloud-init's YAML cannot carry unchanged, one row per kind of character; each
// starts with 16 fine characters. In the file they are written as YAML escapes, as a person would have to.
const UNFIT: [string, string, string][] = [
  ['a tab (C0)', '\t', 'U+0009 (a control character) as character 17'],
  ['a NUL', '\0', 'U+0000 (a control character) as character 17'],
  ['DEL', '\u007f', 'U+007F (a control character) as character 17'],
  ['NEL, which PyYAML reads as a space', '\u0085', 'U+0085 (a control character) as character 17'],
  ['a C1 control PyYAML refuses', '\u009b', 'U+009B (a control character) as character 17'],
  ['a line separator', '\u2028', 'U+2028 (a line or paragraph separator) as character 17'],
  ['a paragraph separator', '\u2029', 'U+2029 (a line or paragraph separator) as character 17'],
  ['a byte order mark', '\ufeff', 'U+FEFF (a byte order mark) as character 17'],
  ['a noncharacter', '\ufdd0', 'U+FDD0 (a Unicode noncharacter) as character 17'],
  ['U+FFFE', '\ufffe', 'U+FFFE (a Unicode noncharacter) as character 17'],
  ['a noncharacter beyond the BMP', '\u{10ffff}', 'U+10FFFF (a Unicode noncharacter) as character 17'],
  ['a lone surrogate', '\ud800', 'U+D800 (half a surrogate pair, alone) as character 17'],
];
const FINE_START = 'ä-Ελληνικά-🦊-012'; // 16 characters (the fox is one, two UTF-16 units)
/** `text` as a double-quoted YAML scalar with every character beyond printable ASCII escaped. */
const yamlEscaped = (text: string) => `"${[...text].map((c) => {
  if (/[ -~]/.test(c) && c !== '"' && c !== '\\') return c;
  const code = c.codePointAt(0)!;
  return code > 0xffff ? `\\U${code.toString(16).padStart(8, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}).join('')}"`;

describe('a session_passphrase with a character cloud-init\'s YAML cannot carry', () => {
  it.each(UNFIT)('in the secrets file is refused: %s', async (_what, bad, message) => {
    const f = await folder();
    await writeFile(f.secrets, `session_passphrase: ${yamlEscaped(`${FINE_START}${bad}x`)}\n`, { mode: 0o600 });
    const text = await messageOf(loadOrCreateSecrets(f.config));
    expect(text).toContain(`cluster.secrets.yaml: session_passphrase: has ${message}, which the cards' cloud-init YAML does not carry reliably. `
      + 'Write session_passphrase again without it (letters of any script, digits, punctuation and emoji are fine), then rebuild every card built with it.');
    expect(text).not.toContain(FINE_START);
  });

  it.each(UNFIT)('in MICROCLOUD_PI_PASSPHRASE is refused: %s', async (_what, bad, message) => {
    const f = await folder();
    const text = await messageOf(loadOrCreateSecrets(f.config, { passphraseFromEnv: `${FINE_START}${bad}x` }));
    expect(text).toContain(`environment: MICROCLOUD_PI_PASSPHRASE: has ${message}, which the cards' cloud-init YAML does not carry reliably. `
      + 'Set it to a passphrase without it (letters of any script, digits, punctuation and emoji are fine).');
    expect(text).not.toContain(FINE_START);
    expect(await readdir(f.dir)).toEqual([]);
  });

  it.each([
    ['letters beyond ASCII and an emoji', `${FINE_START}x`],
    ['an emoji joined with U+200D, and a combining accent', '👩‍💻-cafe\u0301-0123456789'],
  ])('lets through %s, from the file and from the environment', async (_what, passphrase) => {
    const f = await folder();
    await writeFile(f.secrets, `session_passphrase: ${yamlEscaped(passphrase)}\n`, { mode: 0o600 });
    expect((await loadOrCreateSecrets(f.config)).secrets.sessionPassphrase).toBe(passphrase);
    expect((await loadOrCreateSecrets(f.config, { passphraseFromEnv: passphrase })).secrets.sessionPassphrase).toBe(passphrase);
  });
});

describe('secrets from the environment (CI)', () => {
  it('take the operator key from MICROCLOUD_PI_OPERATOR_KEY, and write no file', async () => {
    const f = await folder();
    const key = generateOperatorKey();
    const { secrets, file } = await loadOrCreateSecrets(f.config, { passphraseFromEnv: 'from-the-environment-0123', operatorKeyFromEnv: `${key}\n` });
    expect([secrets.operatorKey, file]).toEqual([key, 'environment']);
    expect(await readdir(f.dir)).toEqual([]);
  });

  it('without MICROCLOUD_PI_OPERATOR_KEY give no key (the cards carry no ticket), and make none up', async () => {
    const f = await folder();
    const { secrets } = await loadOrCreateSecrets(f.config, { passphraseFromEnv: 'from-the-environment-0123' });
    expect(secrets.operatorKey).toBeUndefined();
  });

  it.each([
    [{ passphraseFromEnv: 'from-the-environment-0123', operatorKeyFromEnv: 'hunter2' }, /environment: MICROCLOUD_PI_OPERATOR_KEY: is not an Ed25519 private key.*operator_key line/],
    [{ operatorKeyFromEnv: 'hunter2' }, /MICROCLOUD_PI_OPERATOR_KEY: is set without MICROCLOUD_PI_PASSPHRASE. Set both \(CI\), or neither/],
  ])('refuse %j', async (options, message) => {
    const f = await folder();
    expect(await messageOf(loadOrCreateSecrets(f.config, options))).toMatch(message);
  });
});

describe('the operator key for a revocation', () => {
  it('comes from the secrets file, which it never creates or changes', async () => {
    const f = await folder();
    expect(await messageOf(loadOperatorKey(f.config))).toMatch(/cluster\.secrets\.yaml: the file does not exist/);
    expect(await readdir(f.dir)).toEqual([]);
    await writeFile(f.secrets, OLD, { mode: 0o600 });
    expect(await messageOf(loadOperatorKey(f.config))).toMatch(/operator_key: has no operator_key.*nothing to revoke/);
    expect(await readFile(f.secrets, 'utf8')).toBe(OLD);
    const { secrets } = await loadOrCreateSecrets(f.config);
    expect(await loadOperatorKey(f.config)).toBe(secrets.operatorKey);
  });
});

describe('a secrets file that is not valid YAML', () => {
  it.each([
    ['an open quote', 'session_passphrase: "an-old-passphrase-0123456789\noperator_key: x\n', 1, /the " opened on this line is never closed/],
    ['a space before the first field', ' session_passphrase: an-old-passphrase-0123456789\noperator_key: x\n', 1,
      /"session_passphrase" is indented 1 space.*remove the 1 space before "session_passphrase"/],
    ['a tab', 'session_passphrase: an-old-passphrase-0123456789\n\toperator_key: x\n', 2, /indented with a tab/],
  ])('with %s is said to be that, at its line, not "has no session_passphrase"', async (_name, text, line, message) => {
    const f = await folder();
    await writeFile(f.secrets, text, { mode: 0o600 });
    for (const said of [await messageOf(loadOrCreateSecrets(f.config)), await messageOf(loadOperatorKey(f.config))]) {
      expect(said).toMatch(new RegExp(`^${f.secrets.replace(/[.]/g, '\\.')}:${line}: the file is not valid YAML: `));
      expect(said).toMatch(message);
      expect(said).toMatch(/restore it from a backup/);
      expect(said).not.toMatch(/has no session_passphrase|has no operator_key/);
    }
    expect(await readFile(f.secrets, 'utf8')).toBe(text); // never rewritten
  });
});
