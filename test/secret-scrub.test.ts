// The join passphrase on a booted node: after done no copy is left in any encoding cloud-init
// stores it in (TEST DOUBLES of the node's files, with the copies cloud-init makes); on a node
// that stopped for a person, none on the world-readable boot partition, while the root-only
// preseed keeps it for the retry. Then the copies Debian's real cloud-init makes, for
// passphrases in several scripts, checked with Python's own codecs.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadOrCreateSecrets, secretsPathFor } from '../builder/config/secrets.js';
import { PRESEED_PATH } from '../builder/render/node-config.js';
import { passphraseOf } from '../firstboot/run/run-preseed.js';
import { realFiles } from '../firstboot/run/adapters.js';
import { scrubSecret, secretPattern, withoutSecret } from '../firstboot/run/scrub-secret.js';
import { EXIT } from '../firstboot/first-boot.js';
import { renderPreseed } from '../builder/render/preseed.js';
import { renderUserData } from '../builder/render/user-data.js';
import { asSecret } from '../builder/config/types.js';
import { cloudInitCopies, COPIES, findSecret } from './helpers/cloud-init-copies.js';
import { cloudInitRedump, pyYamlToJson } from './helpers/debian-tools.js';
import { boot, CLOUD_INIT_COPIES, cluster, rig } from './helpers/first-boot-rig.js';
import { tempDir } from './helpers/temp-dir.js';

/** Quotes, backslashes and a YAML-significant character: each encoding differs from the raw text. */
const AWKWARD = `it's a "quoted" pass\\phrase: #1 \\\\ end`;
const jsonInner = (text: string) => JSON.stringify(text).slice(1, -1);
/** As is, in the preseed's JSON string, and that string inside a JSON copy. */
const AWKWARD_FORMS = [AWKWARD, jsonInner(AWKWARD), jsonInner(jsonInner(AWKWARD))];

describe('the passphrase leaves every copy but the root-only preseed', () => {
  it('is gone from every file, in every encoding, once the node is done', async () => {
    const r = await rig('pi1', undefined, undefined, {}, { passphrase: AWKWARD });
    // Each copy holds it in its own encoding: raw, JSON-escaped, YAML-escaped.
    const forms = AWKWARD_FORMS;
    expect(Object.keys(CLOUD_INIT_COPIES).filter((p) => forms.some((f) => r.files.files.get(p)!.content.includes(f))))
      .toEqual(Object.keys(CLOUD_INIT_COPIES));
    expect((await boot(r)).exitCode).toBe(EXIT.done);
    for (const [path, { content }] of r.files.files) {
      for (const form of forms) expect([path, content.includes(form)]).toEqual([path, false]);
      expect([path, content.includes('pass\\')]).toEqual([path, false]);
    }
    expect(r.files.files.has(r.config.preseedPath)).toBe(false);
    expect(r.log.join('\n')).toMatch(/the join passphrase was removed from \/boot\/firmware\/user-data, /);
  });

  it('leaves the boot partition on a node that stopped for a person, and stays in the root-only preseed', async () => {
    const r = await rig('pi1', undefined, undefined, {}, { passphrase: AWKWARD });
    r.host.hardware.snapd = '2.50'; // preflight stops: snapd too old
    const result = await boot(r);
    expect([result.exitCode, result.status().step]).toEqual([EXIT.config, 'preflight']);
    for (const form of AWKWARD_FORMS) {
      for (const path of Object.keys(CLOUD_INIT_COPIES)) expect([path, r.files.files.get(path)!.content.includes(form)]).toEqual([path, false]);
    }
    expect(r.files.files.get(r.config.preseedPath)).toMatchObject({ mode: 0o600, content: expect.stringContaining('session_passphrase: ') });
    expect(r.files.files.get(r.config.preseedPath)!.content).toContain(JSON.stringify(AWKWARD));
  });
});

describe('overwriting in place', () => {
  it('keeps every byte but the secret, so a pickled cache still loads', () => {
    const secret = 'sécret"pass';
    const pickle = Buffer.concat([Buffer.from([0x80, 0x04, 0x95, 0x20]), Buffer.from(`a${secret}b"${JSON.stringify(secret).slice(1, -1)}"`), Buffer.from([0x94, 0x2e])]);
    const clean = withoutSecret(pickle, secretPattern(secret))!;
    expect(clean.length).toBe(pickle.length);
    expect(clean.subarray(0, 4)).toEqual(pickle.subarray(0, 4));
    expect(clean.subarray(-2)).toEqual(pickle.subarray(-2));
    expect(clean.toString('latin1')).not.toMatch(/pass/);
    expect(withoutSecret(Buffer.from('nothing here'), secretPattern(secret))).toBeUndefined();
  });

  // cloud-init's cloud-config.txt is user-data parsed and dumped again by PyYAML, which quotes,
  // escapes and folds the preseed's long line at a space inside a passphrase that has spaces.
  it.each([
    ['quotes, backslashes and spaces', `it's a "quoted" pass\\phrase with spaces, long enough to be folded by PyYAML at eighty columns`],
    ['letters beyond ASCII', 'ein längeres Passwort mit Umlauten, äöü und ß, das PyYAML faltet und maskiert'],
    ['a non-breaking space and a tab (PyYAML\'s own escapes)', 'non\u00a0breaking\tspace and a tab, a mnemonic long enough for PyYAML to fold its line'],
  ])('finds the passphrase with %s in cloud-init\'s own re-dump of user-data', async (_what, passphrase) => {
    const c = cluster(1);
    const userData = renderUserData(c, 'pi1', renderPreseed(c, asSecret(passphrase)), {});
    const redumped = await cloudInitRedump(userData);
    expect(redumped).not.toContain(passphrase); // not there as is: escaped and folded
    // In the parsed values the passphrase sits in the preseed's text, in YAML double quotes.
    const inValues = JSON.stringify(JSON.stringify(passphrase).slice(1, -1)).slice(1, -1);
    const before = await pyYamlToJson(redumped);
    expect(JSON.stringify(before)).toContain(inValues);
    const clean = withoutSecret(Buffer.from(redumped, 'utf8'), secretPattern(passphrase));
    expect(clean).toBeDefined();
    expect(clean!.length).toBe(Buffer.byteLength(redumped));
    // Still YAML that PyYAML reads, with the same shape, and the passphrase gone from every value.
    const after = await pyYamlToJson(clean!.toString('utf8'));
    expect(Object.keys(after as object)).toEqual(Object.keys(before as object));
    expect(JSON.stringify(after)).not.toContain(inValues);
    for (const word of passphrase.split(' ').filter((w) => w.length > 5)) expect(JSON.stringify(after)).not.toContain(JSON.stringify(word).slice(1, -1));
    expect(JSON.stringify(after)).toContain('session_passphrase: \\"xxxx'); // the preseed's line is still there, masked
  });
});

/** Every file under `dir` (symbolic links aside, as the scrub lists them) and its size. */
async function sizes(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out[join(entry.parentPath, entry.name).slice(dir.length + 1)] = (await stat(join(entry.parentPath, entry.name))).size;
  }
  return out;
}

// Every word has a letter beyond ASCII, so each encoding of it differs from the others (an
// ASCII word reads the same in most of them) and none occurs in cloud-init's own text.
const SCRIPTS: [string, string][] = [
  ['Latin letters with accents', 'Größenwahn façade naïve Ñandú Ærøskøbing'],
  ['Greek', 'Καλημέρα κόσμε αλφάβητο ωμέγα'],
  ['CJK', '日本語の合言葉 中文口令 한국어암호'],
  ['Arabic', 'كلمة السر العربية الطويلة'],
  ['emoji (beyond 16 bits: JSON surrogate pairs, PyYAML \\U)', 'señal 😀🎉 cohete🚀 fin✨ 🌍🌎🌏'],
  ['scripts mixed, with quotes and a backslash', `Größe "αβγ" 中文\\口令 'كلمة' 😀🎉`],
];
const MIXED = SCRIPTS.at(-1)![1];
/** test/boot/three-nodes.boot-test.ts's passphrase (kept in step by hand): its path is checked here, as the boot test cannot run everywhere. */
const BOOT_TEST_PASSPHRASE = `Quokka "Narwhal" Axolotl\\Pangolin 'Capybara' Wombat Okapi Tapir Platypus Kinkajou Fuchsbär Αλεπού 🦘🦔`;
SCRIPTS.push(["the boot test's: ASCII words with quotes and a backslash, then ä, Greek and emoji", BOOT_TEST_PASSPHRASE]);

describe("the copies Debian's real cloud-init makes, for a passphrase beyond ASCII", () => {
  it.each(SCRIPTS)('%s: reaches the node unchanged, through the secrets file, the preseed and the user-data as PyYAML reads it', async (_what, passphrase) => {
    const dir = await tempDir('mcpi-secrets-');
    const clusterFile = join(dir, 'cluster.yaml');
    await writeFile(secretsPathFor(clusterFile), stringify({ session_passphrase: passphrase }), { mode: 0o600 }); // as the boot test writes it
    const { secrets } = await loadOrCreateSecrets(clusterFile);
    expect(secrets.sessionPassphrase).toBe(passphrase);
    const c = cluster(1);
    const preseed = renderPreseed(c, secrets.sessionPassphrase);
    expect(passphraseOf(preseed)).toBe(passphrase);
    const parsed = await pyYamlToJson(renderUserData(c, 'pi1', preseed, {})) as { write_files: { path: string; content: string }[] };
    expect(parsed.write_files.find((f) => f.path === PRESEED_PATH)!.content).toBe(preseed);
  });

  const copiesOf = async (passphrase: string) => {
    const c = cluster(1);
    return cloudInitCopies(renderUserData(c, 'pi1', renderPreseed(c, asSecret(passphrase)), {}));
  };

  it.each(SCRIPTS)('%s: held in every copy, left in none in any encoding, every file the same size and still loading', async (_what, passphrase) => {
    const root = await copiesOf(passphrase);
    const before = await findSecret(root, passphrase);
    expect(Object.keys(before.found)).toEqual(expect.arrayContaining(Object.values(COPIES)));
    const sizesBefore = await sizes(root);
    const changed = await scrubSecret(realFiles, passphrase, [root]);
    expect(changed.map((p) => p.slice(root.length + 1))).toEqual(expect.arrayContaining(Object.values(COPIES)));
    expect(await findSecret(root, passphrase)).toEqual({ found: {}, unreadable: {} });
    expect(await sizes(root)).toEqual(sizesBefore);
    expect(await readFile(join(root, COPIES.seed), 'utf8')).toMatch(/^ {6}session_passphrase: "x+"$/m);
  }, 60_000);

  it('finds each copy in the encoding cloud-init writes it in (the evidence for what the scrub looks for)', async () => {
    const { found } = await findSecret(await copiesOf(MIXED), MIXED);
    const pickleOfMime = 'surrogate escapes, UTF-8 (pickle of the MIME payload)';
    expect(found).toMatchObject({
      [COPIES.seed]: ['UTF-8'],
      [COPIES.raw]: ['UTF-8'],
      // A part made from bytes: each byte beyond ASCII is a surrogate escape, written out as U+FFFD.
      [COPIES.mime]: ['U+FFFD for each byte (MIME text)'],
      // PyYAML without allow_unicode: \xHH, \uHHHH (the same as JSON's where the hex is digits or upper-cased) and \UHHHHHHHH.
      [COPIES.cloudConfig]: expect.arrayContaining(['PyYAML escapes']),
      // Protocol 4: the raw user-data and the parsed config as UTF-8, the MIME payload's surrogate escapes as UTF-8.
      [COPIES.pickle]: ['UTF-8', pickleOfMime],
      [COPIES.combined]: ['JSON \\u escapes, lower case'],
      [COPIES.instanceData]: ['JSON \\u escapes, lower case'],
      // Other protocols another Python might pickle with: raw-unicode-escape (0), bytes as latin-1 text (0-2).
      [`${COPIES.pickle}.protocol0`]: expect.arrayContaining(['raw-unicode-escape (pickle 0)', 'surrogate escapes, raw-unicode-escape']),
      [`${COPIES.pickle}.protocol2`]: expect.arrayContaining(['UTF-8 bytes read as latin-1, UTF-8 again (pickle 1-2 of bytes)', pickleOfMime]),
    });
    expect(found[COPIES.cloudConfig]).not.toContain('UTF-8');
    // Never UTF-16, base64 or quoted-printable: the MIME part is written as it is (8 bit).
    const everyEncoding = Object.values(found).flat();
    for (const never of ['UTF-16LE', 'UTF-16BE', 'base64', 'quoted-printable', 'quoted-printable, lower case']) expect(everyEncoding).not.toContain(never);
  }, 60_000);
});
