// Clusters from MicroCloud's own test suite (canonical/microcloud test/suites/), written as
// cluster files: the preseed we render must be the one MicroCloud is fed there, up to the
// fields MicroCloud fills with the same zero values (wipe, encrypt, find_max) and the ones we
// always set (timeouts, our own passphrase).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { planPreseed } from '../builder/render/preseed.js';
import { renderNetworkConfig } from '../builder/render/network-config.js';
import { clusterFromText, REPO, TEST_PASSPHRASE } from './helpers/examples.js';
import { netplanGenerate } from './helpers/debian-tools.js';

type Doc = Record<string, unknown>;
const SUITE = join(REPO, 'test', 'microcloud-suite');
const CASES = ['disaggregated-networks', 'filters-and-paths'];

/** MicroCloud's view of a preseed: unmarshalled into Go structs, so absent means zero. */
function asMicroCloudReadsIt(preseed: Doc): Doc {
  const { session_passphrase: _p, lookup_timeout: _l, session_timeout: _s, ...rest } = preseed;
  const disk = (d: Doc) => ({ wipe: false, encrypt: false, ...d });
  const filter = (f: Doc) => ({ find_min: 0, find_max: 0, wipe: false, encrypt: false, ...f });
  const systems = (rest.systems as Doc[]).map((s) => {
    const storage = s.storage as { local?: Doc; ceph?: Doc[] } | undefined;
    return { ...s, ...(storage ? { storage: {
      ...(storage.local ? { local: disk(storage.local) } : {}),
      ...(storage.ceph ? { ceph: storage.ceph.map(disk) } : {}),
    } } : {}) };
  });
  const storage = rest.storage as { local?: Doc[]; ceph?: Doc[] } | undefined;
  return {
    ...rest, systems,
    ...(rest.ceph ? { ceph: { cephfs: false, ...(rest.ceph as Doc) } } : {}),
    ...(storage ? { storage: {
      ...(storage.local ? { local: storage.local.map(filter) } : {}),
      ...(storage.ceph ? { ceph: storage.ceph.map(filter) } : {}),
    } } : {}),
  };
}

describe.each(CASES)('MicroCloud test suite cluster %s', (name) => {
  const cluster = clusterFromText(readFileSync(join(SUITE, `${name}.yaml`), 'utf8'), `${name}.yaml`);
  const upstream = load(readFileSync(join(SUITE, `${name}.preseed.yaml`), 'utf8')) as Doc;

  it('renders the preseed MicroCloud is fed there', () => {
    const ours = planPreseed(cluster, TEST_PASSPHRASE) as unknown as Doc;
    expect(asMicroCloudReadsIt(JSON.parse(JSON.stringify(ours)))).toEqual(asMicroCloudReadsIt(upstream));
  });

  it('gives each node the addresses its dedicated NICs need, accepted by netplan', async () => {
    for (const node of cluster.nodes) {
      const { exitCode, networkd } = await netplanGenerate(renderNetworkConfig(cluster, node.name));
      expect(exitCode).toBe(0);
      for (const nic of node.dedicatedNics) {
        const unit = networkd[`10-netplan-${nic.nic.name}.network`]!;
        expect(unit).toMatch(new RegExp(`^Address=${nic.address.replace(/\./g, '\\.')}/24$`, 'm'));
        expect(unit).not.toMatch(/^(Gateway|DNS)=|\[Route\]/m);
      }
    }
  });
});
