// The fingerprint a joiner asks with and a member checks is the one MicroCloud shows: the SHA-256
// of the certificate's DER, as `microcloud cluster list` prints it (lxd shared.CertFingerprintStr).
import { createHash, randomBytes } from 'node:crypto';
import { parseAddRequest } from './add-request.js';
import { certFingerprint } from './microcloud-cert.js';

const der = randomBytes(300);
const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').trim()}\n-----END CERTIFICATE-----\n`;

describe('certFingerprint', () => {
  it('is the SHA-256 of the DER inside the PEM, whatever the line breaks', () => {
    expect(certFingerprint(pem)).toBe(createHash('sha256').update(der).digest('hex'));
    expect(certFingerprint(pem.replace(/\n/g, '\r\n'))).toBe(certFingerprint(pem));
    expect(certFingerprint(`junk before\n${pem}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n`)).toBe(certFingerprint(pem));
  });

  it.each([undefined, '', 'not a certificate', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n'])('is undefined for %j', (text) => {
    expect(certFingerprint(text)).toBeUndefined();
  });
});

describe('a join request\'s fingerprint', () => {
  const body = (fingerprint: unknown) => JSON.stringify({ node: 'pi4', address: '10.0.0.14', replace: false, system: { name: 'pi4' }, fingerprint });
  const cluster = { subnet: '10.0.0.0/24', join: { grow: true, replace: false, system: { name: 'pi1' } } };
  it('is taken as a SHA-256 in hex, and refused otherwise', () => {
    expect(parseAddRequest(body(certFingerprint(pem)), '10.0.0.14', cluster)).toMatchObject({ ok: true, value: { fingerprint: certFingerprint(pem) } });
    for (const bad of ['AB'.repeat(32), 'ab'.repeat(31), 42, ''])
      expect(parseAddRequest(body(bad), '10.0.0.14', cluster)).toEqual({ ok: false, reason: 'the request body is invalid: fingerprint is not a SHA-256 in hex' });
  });
});
