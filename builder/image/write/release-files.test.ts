import { parseSha256Sums, renderSha256Sums } from '../hash-file.js';
import { mergeManifest, type Manifest } from './release-files.js';

const H = (c: string) => c.repeat(64);

describe('SHA256SUMS', () => {
  it('round-trips, sorted by file, in the binary-mode form sha256sum -c reads', () => {
    const sums = new Map([['pi2.img', H('b')], ['pi1.img', H('a')]]);
    const text = renderSha256Sums(sums);
    expect(text).toBe(`${H('a')} *pi1.img\n${H('b')} *pi2.img\n`);
    expect(parseSha256Sums(text)).toEqual(new Map([['pi1.img', H('a')], ['pi2.img', H('b')]]));
  });
});

describe('mergeManifest', () => {
  const node = (sha: string) => ({ file: 'x.img', bytes: 1, sha256: sha, grownBytes: 0, injected: [] });
  const manifest = (base: string, nodes: Manifest['nodes']): Manifest =>
    ({ tool: { name: 't', version: '1' }, cluster: 'c', configSha256: H('c'), base: { file: 'b', sha256: base }, nodes });

  it('keeps earlier nodes built from the same base and config', () => {
    const merged = mergeManifest(manifest(H('1'), { pi1: node(H('a')) }), manifest(H('1'), { pi2: node(H('b')) }));
    expect(Object.keys(merged.nodes)).toEqual(['pi1', 'pi2']);
  });

  it('drops earlier nodes built from another base', () => {
    const merged = mergeManifest(manifest(H('1'), { pi1: node(H('a')) }), manifest(H('2'), { pi2: node(H('b')) }));
    expect(Object.keys(merged.nodes)).toEqual(['pi2']);
  });
});
