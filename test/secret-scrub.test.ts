// The join passphrase on a booted node: after done no copy is left in any encoding cloud-init
// stores it in (TEST DOUBLES of the node's files, with the copies cloud-init makes); on a node
// that stopped for a person, none on the world-readable boot partition, while the root-only
// preseed keeps it for the retry.
import { secretForms, withoutSecret } from '../firstboot/run/scrub-secret.js';
import { EXIT } from '../firstboot/first-boot.js';
import { boot, CLOUD_INIT_COPIES, rig } from './helpers/first-boot-rig.js';

/** Quotes, backslashes and a YAML-significant character: each encoding differs from the raw text. */
const AWKWARD = `it's a "quoted" pass\\phrase: #1 \\\\ end`;

describe('the passphrase leaves every copy but the root-only preseed', () => {
  it('is gone from every file, in every encoding, once the node is done', async () => {
    const r = await rig('pi1', undefined, undefined, {}, { passphrase: AWKWARD });
    // Each copy holds it in its own encoding: raw, JSON-escaped, YAML-escaped.
    const forms = secretForms(AWKWARD).map((f) => f.toString('utf8'));
    expect(forms.length).toBeGreaterThanOrEqual(3);
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
    for (const form of secretForms(AWKWARD)) {
      for (const path of Object.keys(CLOUD_INIT_COPIES)) expect([path, r.files.files.get(path)!.content.includes(form.toString())]).toEqual([path, false]);
    }
    expect(r.files.files.get(r.config.preseedPath)).toMatchObject({ mode: 0o600, content: expect.stringContaining('session_passphrase: ') });
    expect(r.files.files.get(r.config.preseedPath)!.content).toContain(JSON.stringify(AWKWARD));
  });
});

describe('overwriting in place', () => {
  it('keeps every byte but the secret, so YAML and a pickled cache still load', () => {
    const secret = 'sécret"pass';
    const pickle = Buffer.concat([Buffer.from([0x80, 0x04, 0x95, 0x20]), Buffer.from(`a${secret}b"${JSON.stringify(secret).slice(1, -1)}"`), Buffer.from([0x94, 0x2e])]);
    const clean = withoutSecret(pickle, secretForms(secret))!;
    expect(clean.length).toBe(pickle.length);
    expect(clean.subarray(0, 4)).toEqual(pickle.subarray(0, 4));
    expect(clean.subarray(-2)).toEqual(pickle.subarray(-2));
    expect(clean.toString('latin1')).not.toMatch(/pass/);
    expect(withoutSecret(Buffer.from('nothing here'), secretForms(secret))).toBeUndefined();
  });
});
