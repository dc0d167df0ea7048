// The session's secret opens only for the joiner it was sealed to, from the member that sealed it, for that batch.
import { dhKeyOf, issueIdentity, readIdentity } from './node-identity.js';
import { newSessionSecret, openSecret, sealSecret, sessionPassphraseOf } from './session-secret.js';
import { operatorPublicKey } from './join-ticket.js';
import { TEST_ISSUED_MS, TEST_OPERATOR_KEY } from '../../test/helpers/operator-key.js';

const card = (node: string, address: string) => {
  const { privateKey, identity } = issueIdentity(TEST_OPERATOR_KEY, { cluster: 'loop', node, address, issued: TEST_ISSUED_MS });
  const read = readIdentity(operatorPublicKey(TEST_OPERATOR_KEY), identity);
  if (!read.ok || !read.value.dh) throw new Error('no identity');
  return { dhKey: dhKeyOf(privateKey), dh: read.value.dh };
};
const member = card('pi1', '10.0.0.11');
const pi4 = card('pi4', '10.0.0.14');
const pi5 = card('pi5', '10.0.0.15');
const context = { batch: 'ab'.repeat(16), node: 'pi4' };

describe('a sealed session secret', () => {
  const secret = newSessionSecret();
  const sealed = sealSecret(secret, member.dhKey, pi4.dh, context)!;

  it('opens for the joiner it was sealed to, with the member\'s public key, and gives both the same passphrase', () => {
    const opened = openSecret(sealed, pi4.dhKey, member.dh, context);
    expect(opened).toEqual(secret);
    expect(sessionPassphraseOf(opened!, context.batch)).toBe(sessionPassphraseOf(secret, context.batch));
    expect(sessionPassphraseOf(secret, context.batch)).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it.each([
    ['a batch-mate\'s key', () => openSecret(sealed, pi5.dhKey, member.dh, context)],
    ['another batch', () => openSecret(sealed, pi4.dhKey, member.dh, { ...context, batch: 'cd'.repeat(16) })],
    ['another node\'s name', () => openSecret(sealed, pi4.dhKey, member.dh, { ...context, node: 'pi5' })],
    ['another member\'s public key', () => openSecret(sealed, pi4.dhKey, pi5.dh, context)],
    ['a flipped byte', () => openSecret(`${sealed.slice(0, 20)}${sealed[20] === 'A' ? 'B' : 'A'}${sealed.slice(21)}`, pi4.dhKey, member.dh, context)],
    ['junk', () => openSecret('not sealed', pi4.dhKey, member.dh, context)],
  ])('does not open with %s', (_what, open) => {
    expect(open()).toBeUndefined();
  });

  it('is a fresh seal each time (a random nonce), and a fresh secret each batch', () => {
    expect(sealSecret(secret, member.dhKey, pi4.dh, context)).not.toBe(sealed);
    expect(newSessionSecret()).not.toEqual(secret);
  });
});
