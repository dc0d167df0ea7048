import type { Manifest } from '../image/write/release-files.js';
import { planOutFolder, type FolderSurvey, type ThisBuild } from './out-folder.js';

const H = (c: string) => c.repeat(64);
const entry = (file: string, bytes = 100) => ({ file, bytes, sha256: H('a'), injected: [] });
const manifest = (nodes: Manifest['nodes'], configSha256 = H('c'), base = H('b')): Manifest =>
  ({ tool: { name: 'microcloud-pi', version: '1' }, cluster: 'shelf', configSha256, base: { file: 'base.img', sha256: base }, nodes });
const images: ThisBuild = {
  kind: 'images', cluster: 'shelf', configFile: 'cluster.yaml', configSha256: H('c'), clusterNodes: ['pi1', 'pi2', 'pi3'], nodes: ['pi1'],
  imageExtension: '.img.xz', baseSha256: H('b'),
};
const seeds: ThisBuild = { ...images, kind: 'seeds', imageExtension: undefined, baseSha256: undefined } as ThisBuild;
const survey = (s: Partial<FolderSurvey>): FolderSurvey => ({ images: [], folders: [], ...s });

describe('planOutFolder', () => {
  const rows: [string, ThisBuild, FolderSurvey, { remove?: RegExp; keep?: string[]; foreign?: RegExp }][] = [
    ['removes an image of the node made from another version of the cluster file', images,
      survey({ manifest: manifest({ pi1: entry('pi1.img.xz') }, H('0')), images: [{ name: 'pi1.img.xz', bytes: 100 }] }),
      { remove: /^pi1\.img\.xz: made from another version of cluster\.yaml$/ }],
    ['removes an image of another node made from another version', images,
      survey({ manifest: manifest({ pi2: entry('pi2.img.xz') }, H('0')), images: [{ name: 'pi2.img.xz', bytes: 100 }] }),
      { remove: /^pi2\.img\.xz: made from another version of cluster\.yaml$/ }],
    ['removes an image of a node no longer in the file', images,
      survey({ manifest: manifest({ pi9: entry('pi9.img.xz') }, H('0')), images: [{ name: 'pi9.img.xz', bytes: 100 }] }),
      { remove: /^pi9\.img\.xz: pi9 is no longer in cluster\.yaml$/ }],
    ['removes an image made with another compression', images,
      survey({ manifest: manifest({ pi2: entry('pi2.img.zst') }), images: [{ name: 'pi2.img.zst', bytes: 100 }] }),
      { remove: /^pi2\.img\.zst: compressed otherwise \(\.img\.zst\); this build writes \.img\.xz$/ }],
    ['removes an image made from another base', images,
      survey({ manifest: manifest({ pi2: entry('pi2.img.xz') }, H('c'), H('9')), images: [{ name: 'pi2.img.xz', bytes: 100 }] }),
      { remove: /^pi2\.img\.xz: made from another base image \(base\.img\)$/ }],
    ['removes an image an earlier build listed in SHA256SUMS only', images,
      survey({ manifest: manifest({}), sums: new Map([['pi1.img.zst', H('a')]]), images: [{ name: 'pi1.img.zst', bytes: 7 }] }),
      { remove: /^pi1\.img\.zst: listed in SHA256SUMS by an earlier build, but not in manifest\.json/ }],
    ['keeps and names an image of another node of this same build', images,
      survey({ manifest: manifest({ pi2: entry('pi2.img.xz') }), images: [{ name: 'pi2.img.xz', bytes: 100 }] }),
      { keep: ['pi2.img.xz'] }],
    ['removes seed folders from an image build', images,
      survey({ folders: [{ name: 'pi2', build: { cluster: 'shelf', configSha256: H('c') } }] }),
      { remove: /^pi2\/: a --seed-only folder, and this build writes images$/ }],
    ['removes images, the manifest and SHA256SUMS from a seed build', seeds,
      survey({ manifest: manifest({ pi2: entry('pi2.img.xz') }), sums: new Map(), images: [{ name: 'pi2.img.xz', bytes: 100 }] }),
      { remove: /^pi2\.img\.xz: an image, and this is a --seed-only build\nmanifest\.json: .*\nSHA256SUMS: / }],
    ['removes a seed folder made from another version of the file', seeds,
      survey({ folders: [{ name: 'pi3', build: { cluster: 'shelf', configSha256: H('0') } }] }), { remove: /^pi3\/: made from another version of cluster\.yaml$/ }],
    ['keeps a seed folder of another node of this same file', seeds,
      survey({ folders: [{ name: 'pi3', build: { cluster: 'shelf', configSha256: H('c') } }] }), { keep: ['pi3/'] }],
    ['stops at an image no manifest lists', images,
      survey({ manifest: manifest({}), images: [{ name: 'pi7.img', bytes: 1 }] }), { foreign: /^pi7\.img: not listed in manifest\.json$/ }],
    ['stops at an image with no manifest beside it', images,
      survey({ images: [{ name: 'pi1.img.xz', bytes: 1 }] }), { foreign: /^pi1\.img\.xz: there is no manifest\.json of ours beside it$/ }],
    ['stops at an image whose size is not the listed one', images,
      survey({ manifest: manifest({ pi2: entry('pi2.img.xz') }), images: [{ name: 'pi2.img.xz', bytes: 5 }] }),
      { foreign: /^pi2\.img\.xz: 5 bytes, not the 100 manifest\.json records/ }],
    ['stops at a folder this tool did not write', seeds,
      survey({ folders: [{ name: 'pi1' }] }), { foreign: /^pi1\/: not a seed folder this tool wrote/ }],
    ['stops at images of another cluster (another cluster file, not an older version of this one)', images,
      survey({ manifest: { ...manifest({ pi2: entry('pi2.img.xz') }, H('0')), cluster: 'lab' }, images: [{ name: 'pi2.img.xz', bytes: 100 }] }),
      { foreign: /^pi2\.img\.xz: an image of cluster lab, not shelf$/ }],
    ['stops at seed folders of another cluster', seeds,
      survey({ folders: [{ name: 'pi2', build: { cluster: 'lab', configSha256: H('0') } }] }),
      { foreign: /^pi2\/: a seed folder of cluster lab, not shelf$/ }],
    ['stops at a manifest that is not ours', images,
      survey({ manifest: { unreadable: 'not a manifest this tool wrote' } }), { foreign: /^manifest\.json: not a manifest this tool wrote$/ }],
  ];

  it.each(rows)('%s', (_name, build, folder, want) => {
    const plan = planOutFolder(folder, build);
    const text = (list: readonly { name: string; why: string }[]) => list.map((j) => `${j.name}: ${j.why}`).join('\n');
    if (want.remove) expect(text(plan.remove)).toMatch(want.remove);
    else expect(plan.remove).toEqual([]);
    expect(plan.keep).toEqual(want.keep ?? []);
    if (want.foreign) expect(text(plan.foreign)).toMatch(want.foreign);
    else expect(plan.foreign).toEqual([]);
  });

  it('lists in the manifest only the images that stay and are in the folder', () => {
    const plan = planOutFolder(survey({
      manifest: manifest({ pi1: entry('pi1.img.xz'), pi2: entry('pi2.img.xz'), pi3: entry('pi3.img.xz') }),
      images: [{ name: 'pi1.img.xz', bytes: 100 }, { name: 'pi2.img.xz', bytes: 100 }], // pi3's file is gone
    }), images);
    expect(Object.keys(plan.manifestNodes)).toEqual(['pi1', 'pi2']);
    expect(plan.keep).toEqual(['pi2.img.xz']); // pi1 is rebuilt now
  });
});
