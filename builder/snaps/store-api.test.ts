// The pure parts of the store client: reading the refresh answer, the base a snap needs, and
// assertion text.
import { assertionHeaders, assertionStream, sha3Base64Url } from './assertion.js';
import { baseNeeded, parseRefreshAnswer, refreshBody, type StoreSnap } from './store-api.js';

const DIGEST = 'ab'.repeat(48);
const snap = (name: string, more: Record<string, unknown> = {}) => ({
  name, 'snap-id': `${name}-id`, revision: 7, version: '1.0', type: 'app', base: 'core24',
  download: { url: `https://cdn.example/${name}_7.snap`, size: 1024, 'sha3-384': DIGEST }, ...more,
});
const wanted = [{ name: 'lxd', channel: '5.21/stable' }, { name: 'microovn', channel: '24.03/stable' }];

describe('the refresh answer', () => {
  it('matches results to actions by instance key, in whatever order they come', () => {
    const answer = parseRefreshAnswer(wanted, { results: [
      { result: 'download', 'instance-key': 'download-2', name: 'microovn', snap: snap('microovn') },
      { result: 'download', 'instance-key': 'download-1', name: 'lxd', snap: snap('lxd', { base: 'core22' }) },
    ] });
    expect(answer.found.map((s) => [s.name, s.base])).toEqual([['microovn', 'core24'], ['lxd', 'core22']]);
    expect(answer).toMatchObject({ refused: [], other: [] });
  });

  it('keeps the store\'s reason and the channels it offers when it refuses one', () => {
    const answer = parseRefreshAnswer(wanted, { results: [
      { result: 'download', 'instance-key': 'download-1', name: 'lxd', snap: snap('lxd') },
      { result: 'error', 'instance-key': 'download-2', name: 'microovn', error: { code: 'revision-not-found', message: 'no release',
        extra: { releases: [{ architecture: 'arm64', channel: '22.03/stable' }, { architecture: 'arm64', channel: 'latest/edge' }] } } },
    ] });
    expect(answer.refused).toEqual([{ name: 'microovn', channel: '24.03/stable', code: 'revision-not-found', message: 'no release',
      releases: ['22.03/stable', 'latest/edge'] }]);
  });

  it.each([
    ['a digest that is not SHA3-384', { download: { url: 'https://x/y', size: 1, 'sha3-384': 'abc' } }, /lxd is malformed: its download has no SHA3-384/],
    ['no size', { download: { url: 'https://x/y', size: 0, 'sha3-384': DIGEST } }, /no size/],
    ['a download URL that is not http(s)', { download: { url: 'file:///etc/passwd', size: 1, 'sha3-384': DIGEST } }, /no http\(s\) URL/],
    ['another snap\'s name', { name: 'evil' }, /names the snap "evil"/],
    ['no revision', { revision: null }, /its revision is null/],
  ])('refuses an answer with %s', (_what, change, message) => {
    expect(() => parseRefreshAnswer(wanted.slice(0, 1), { results: [
      { result: 'download', 'instance-key': 'download-1', name: 'lxd', snap: snap('lxd', change) }] })).toThrow(message);
  });

  it('says what is missing or was not asked for', () => {
    const answer = parseRefreshAnswer(wanted, { results: [{ result: 'download', 'instance-key': 'download-9', snap: snap('x') }],
      'error-list': [{ code: 'api-error', message: 'try later' }] });
    expect(answer.other).toEqual(['an answer for instance key "download-9", which was not asked for', 'api-error: try later',
      'no answer for lxd', 'no answer for microovn']);
  });

  it('asks for downloads as snapd does: instance keys download-N, a null epoch, no context', () => {
    expect(JSON.parse(refreshBody(wanted))).toMatchObject({ context: [], actions: [
      { action: 'download', 'instance-key': 'download-1', name: 'lxd', channel: '5.21/stable', epoch: null },
      { action: 'download', 'instance-key': 'download-2', name: 'microovn', channel: '24.03/stable', epoch: null }] });
  });
});

describe('the base a snap needs', () => {
  const s = (base: string, type: string) => ({ base, type } as StoreSnap);
  it.each([
    ['the base it names', s('core22', 'app'), 'core22'],
    ['core for an app that names none', s('', 'app'), 'core'],
    ['nothing for a base', s('', 'base'), undefined],
    ['nothing for snapd', s('', 'snapd'), undefined],
  ])('is %s', (_what, given, base) => expect(baseNeeded(given)).toBe(base));
});

describe('assertion text', () => {
  const key = `type: account-key
authority-id: canonical
public-key-sha3-384: K
account-id: canonical
constraints:
    -
      headers:
        type: model
body-length: 4
sign-key-sha3-384: R

BODY

SIG`;

  it('reads single-line headers, not indented values, the body or the signature', () => {
    expect(Object.fromEntries(assertionHeaders(key))).toEqual({ type: 'account-key', 'authority-id': 'canonical', 'public-key-sha3-384': 'K',
      'account-id': 'canonical', 'body-length': '4', 'sign-key-sha3-384': 'R' });
  });

  it('streams assertions as snap download writes them: each ends with a newline, a blank line between', () => {
    expect(assertionStream(['a\n\nS1', 'b\n\nS2\n'])).toBe('a\n\nS1\n\nb\n\nS2\n');
  });

  it('keys a snap-revision by the digest in base64url without padding', () => {
    expect(sha3Base64Url('ff'.repeat(48))).toBe('_'.repeat(64));
  });
});
