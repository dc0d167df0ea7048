// bundle.json is the one gate between a request and a file name: a listing that names anything but
// NAME_REV.snap / NAME_REV.assert of a valid snap name is refused whole, with every problem said.
import { BUNDLE_FORMAT, BundleFormatError, bundleEntries, channelProblems, parseBundleManifest } from './bundle-manifest.js';

const snap = (over: Record<string, unknown> = {}) => ({
  name: 'lxd', 'snap-id': 'J60k4JY0HppjwOjW8dZdYc8obXKxujRu', revision: 31333, channel: '5.21/stable', base: 'core22', type: 'app',
  version: '5.21.3', role: 'cluster', size: 117440512, 'sha3-384': 'a'.repeat(96), file: 'lxd_31333.snap', assert: 'lxd_31333.assert', ...over,
});
const text = (snaps: unknown[], over: Record<string, unknown> = {}) =>
  JSON.stringify({ format: BUNDLE_FORMAT, cluster: 'shelf', arch: 'arm64', series: '16', store: 'https://api.snapcraft.io', tool: 't', snaps, ...over });
const problems = (t: string): string[] => {
  try {
    parseBundleManifest(t);
  } catch (error) {
    expect(error).toBeInstanceOf(BundleFormatError);
    return [...(error as BundleFormatError).problems];
  }
  throw new Error('expected a refusal');
};

describe('parseBundleManifest', () => {
  it('takes what build-image snaps writes, and lists bundle.json, each snap and each .assert as the names served', () => {
    const manifest = parseBundleManifest(text([snap(), snap({ name: 'core22', revision: 1380, base: null, role: 'prerequisite', file: 'core22_1380.snap', assert: 'core22_1380.assert' })]));
    expect([...bundleEntries(manifest).keys()]).toEqual(['bundle.json', 'lxd_31333.snap', 'lxd_31333.assert', 'core22_1380.snap', 'core22_1380.assert']);
  });

  it.each([
    ['a file name that leaves the folder', snap({ file: '../lxd_31333.snap' }), /snaps\[0\]\.file "\.\.\/lxd_31333\.snap" is not lxd_31333\.snap/],
    ['an absolute assert path', snap({ assert: '/etc/shadow' }), /snaps\[0\]\.assert "\/etc\/shadow" is not lxd_31333\.assert/],
    ['a name with a separator', snap({ name: 'lx/d', file: 'lx/d_31333.snap' }), /snaps\[0\]\.name "lx\/d" is not a snap name/],
    ['a backslash name', snap({ name: '..\\lxd' }), /is not a snap name/],
    ['a revision that is not a number', snap({ revision: '31333/..' }), /revision "31333\/\.\." is not a store revision/],
    ['a negative size', snap({ size: -1 }), /size -1 is not a size in bytes/],
    ['an empty snap', snap({ size: 0 }), /snaps\[0\]\.size 0 is not a size in bytes from 1 to 2147483648/],
    ['a snap that would fill a card', snap({ size: 3 * 1024 ** 3 }), /snaps\[0\]\.size 3221225472 is not a size in bytes from 1/],
    ['a name longer than snapd allows', snap({ name: 'a'.repeat(41) }), /snaps\[0\]\.name "a{41}" is not a snap name/],
    ['a name with two hyphens in a row', snap({ name: 'lx--d' }), /snaps\[0\]\.name "lx--d" is not a snap name/],
    ['an empty channel', snap({ channel: '' }), /snaps\[0\]\.channel is not a channel/],
    ['a digest that is not SHA3-384 hex', snap({ 'sha3-384': 'abc' }), /sha3-384 is not 96 hex digits/],
  ])('refuses %s', (_, entry, message) => {
    expect(problems(text([entry])).join('\n')).toMatch(message);
  });

  it('refuses another format, no snaps, a snap listed twice, and text that is not JSON, saying which', () => {
    expect(problems(text([snap()], { format: 2 }))).toEqual([expect.stringMatching(/format is 2, not 1/)]);
    expect(problems(text([]))).toEqual(['snaps is not a list of snaps']);
    expect(problems(text([snap(), snap()]))).toEqual(['snaps lists lxd more than once']);
    expect(problems('{"format": 1,')[0]).toMatch(/not JSON/);
  });
});

describe('channelProblems', () => {
  const manifest = parseBundleManifest(text([snap(), snap({ name: 'core22', revision: 1380, base: null, role: 'prerequisite', channel: 'latest/stable',
    file: 'core22_1380.snap', assert: 'core22_1380.assert' })]));

  it('takes a channel with or without its risk spelt out, as snap does', () => {
    expect(channelProblems(manifest, { lxd: '5.21' })).toEqual([]);
    expect(channelProblems(manifest, { lxd: '5.21/stable' })).toEqual([]);
  });

  it('names each cluster snap the bundle lacks or has from another channel, and counts no prerequisite as one', () => {
    expect(channelProblems(manifest, { lxd: '6/stable', microcloud: '2/stable', core22: 'latest/stable' })).toEqual([
      'bundle.json has lxd from 5.21/stable; the cluster file wants 6/stable (microcloud.channels.lxd)',
      'bundle.json has no microcloud',
      'bundle.json has no core22',
    ]);
  });
});
