// Every rendered file is parsed back and compared with what was meant: the plan for YAML
// documents, and independent facts for the netplan shape. Run on the examples and on random
// clusters full of awkward text.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { load } from 'js-yaml';
import { stringify } from 'yaml';
import { asSecret, type Cluster, type Secret } from '../builder/config/types.js';
import { planNetworkConfig } from '../builder/render/network-config.js';
import { planNodeConfig } from '../builder/render/node-config.js';
import { planPreseed } from '../builder/render/preseed.js';
import { renderSeed } from '../builder/render/seed.js';
import { planUserData } from '../builder/render/user-data.js';
import { arbitraryClusterDoc } from './helpers/arbitrary-cluster.js';
import { clusterFromText, exampleNames, loadExample, REPO, TEST_PASSPHRASE } from './helpers/examples.js';

const preseedSchema = JSON.parse(readFileSync(join(REPO, 'test', 'microcloud-preseed.schema.json'), 'utf8'));
const validatePreseed = new Ajv({ allErrors: true, strict: false }).compile(preseedSchema);

type Netplan = { network: { version: number; ethernets: Record<string, any>; bridges?: Record<string, any> } }; // eslint-disable-line @typescript-eslint/no-explicit-any

function checkNode(cluster: Cluster, nodeName: string, passphrase: Secret): void {
  const seed = renderSeed(cluster, nodeName, passphrase);
  const node = cluster.nodes.find((n) => n.name === nodeName)!;

  // user-data: exactly the planned cloud-config, with the preseed and node.json inside it.
  expect(seed['user-data'].startsWith('#cloud-config\n')).toBe(true);
  const preseedText = seed['microcloud-preseed.yaml'];
  expect(load(seed['user-data'])).toEqual(planUserData(cluster, nodeName, preseedText));

  // The preseed: what we planned, valid against MicroCloud's fields, carrying the passphrase.
  const preseed = load(preseedText) as Record<string, unknown>;
  expect(preseed).toEqual(planPreseed(cluster, passphrase));
  expect(preseed.session_passphrase).toBe(passphrase);
  if (!validatePreseed(preseed)) throw new Error(JSON.stringify(validatePreseed.errors, null, 2));
  const names = (preseed.systems as { name: string; address?: string }[]).map((s) => s.name);
  expect(names).toEqual(cluster.nodes.map((n) => n.name));
  if (cluster.microcloud.discovery === 'unicast')
    expect((preseed.systems as { address?: string }[]).every((s) => s.address)).toBe(true);

  // node.json carries no secret.
  const nodeJson = (load(seed['user-data']) as { write_files: { path: string; content: string }[] })
    .write_files.find((f) => f.path.endsWith('node.json'))!.content;
  expect(JSON.parse(nodeJson)).toEqual(planNodeConfig(cluster, nodeName));
  expect(nodeJson).not.toContain(passphrase);

  // network-config: netplan v2 under `network:`, facts checked independently of the plan.
  const netplan = load(seed['network-config']) as Netplan;
  const plan = planNetworkConfig(cluster, nodeName);
  expect(netplan.network.version).toBe(2);
  const intra = netplan.network.ethernets[node.intraNic.name];
  expect(intra.addresses[0]).toBe(`${node.address}/${cluster.network.subnet.prefix}`);
  expect(intra.routes).toEqual([{ to: 'default', via: cluster.network.gateway }]);
  expect(intra.dhcp4).toBe(false);
  if (node.uplink) {
    const uplink = netplan.network.ethernets[node.uplink.nic.name];
    expect(uplink).toMatchObject({ dhcp4: false, dhcp6: false, 'accept-ra': false, 'link-local': [] });
    expect(uplink.addresses).toBeUndefined();
    if (node.uplink.nic.macaddress) expect(uplink.match).toEqual({ macaddress: node.uplink.nic.macaddress });
    if (node.uplink.mode === 'bridge') {
      expect(netplan.network.bridges![node.uplink.bridge!]).toMatchObject({ interfaces: [node.uplink.nic.name], dhcp4: false, 'link-local': [] });
    } else {
      expect(netplan.network.bridges).toBeUndefined();
    }
  } else {
    expect(Object.keys(netplan.network.ethernets)).toEqual([node.intraNic.name]);
  }
  expect(plan.intra.addresses).toEqual(intra.addresses);

  // meta-data: the instance-id names the node.
  expect(load(seed['meta-data'])).toEqual({ 'instance-id': expect.stringMatching(new RegExp(`^mcpi-${cluster.name}-${nodeName}-[0-9a-f]{12}$`)), 'local-hostname': nodeName });

  // Pure: the same inputs give the same bytes.
  expect(renderSeed(cluster, nodeName, passphrase)).toEqual(seed);
}

describe('rendered seed files read back as meant', () => {
  it.each(exampleNames())('for every node of example %s', (example) => {
    const cluster = loadExample(example);
    for (const node of cluster.nodes) checkNode(cluster, node.name, TEST_PASSPHRASE);
  });

  it('for random clusters with awkward text and passphrases', () => {
    fc.assert(fc.property(arbitraryClusterDoc, fc.string({ unit: 'binary', minLength: 16 }), (doc, passphrase) => {
      const cluster = clusterFromText(stringify(doc));
      for (const node of cluster.nodes) checkNode(cluster, node.name, asSecret(passphrase));
    }), { numRuns: 150 });
  });
});

describe('instance-id', () => {
  it('changes when the node\'s config changes, and only then', () => {
    const cluster = loadExample('three-pis-ceph');
    const id = (c: Cluster, n = 'pi1') => load(renderSeed(c, n, TEST_PASSPHRASE)['meta-data']) as Record<string, string>;
    expect(id(cluster)['instance-id']).toBe(id(cluster)['instance-id']);
    const moved = { ...cluster, nodes: cluster.nodes.map((n) => (n.name === 'pi1' ? { ...n, address: '10.20.0.99' } : n)) };
    expect(id(moved)['instance-id']).not.toBe(id(cluster)['instance-id']);
    expect(id(cluster, 'pi2')['instance-id']).not.toBe(id(cluster)['instance-id']);
  });
});
