// Debian's own tools judge what we render: `cloud-init schema` for user-data, `netplan generate`
// for network-config, and ajv with cloud-init's own JSON Schema from the same package.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { load } from 'js-yaml';
import { stringify } from 'yaml';
import Ajv04 from 'ajv-draft-04';
import { renderSeed, type Seed } from '../builder/render/seed.js';
import { arbitraryClusterDoc } from './helpers/arbitrary-cluster.js';
import { cloudInitSchema, netplanGenerate } from './helpers/debian-tools.js';
import { clusterFromText, exampleNames, loadExample, TEST_PASSPHRASE } from './helpers/examples.js';

const CLOUD_INIT_SCHEMA = '/usr/lib/python3/dist-packages/cloudinit/config/schemas/schema-cloud-config-v1.json';

const exampleSeeds: [string, Seed][] = exampleNames().flatMap((example) => {
  const cluster = loadExample(example);
  return cluster.nodes.map((n) => [`${example}/${n.name}`, renderSeed(cluster, n.name, TEST_PASSPHRASE)] as [string, Seed]);
});
// A few random clusters too, awkward text included; fixed seed so a failure reproduces.
const randomSeeds: [string, Seed][] = fc.sample(arbitraryClusterDoc, { numRuns: 6, seed: 42 }).map((doc, i) => {
  const cluster = clusterFromText(stringify(doc));
  const node = cluster.nodes[cluster.nodes.length - 1]!;
  return [`random-${i}/${node.name}`, renderSeed(cluster, node.name, TEST_PASSPHRASE)];
});
const allSeeds = [...exampleSeeds, ...randomSeeds];

describe('cloud-init schema -c (Debian cloud-init)', () => {
  it.each(allSeeds)('accepts the user-data of %s', async (_name, seed) => {
    const result = await cloudInitSchema(seed['user-data']);
    expect(result.output).toContain('Valid cloud-config');
    expect(result.exitCode).toBe(0);
  });

  it('rejects a user-data we broke on purpose, so the check above can fail', async () => {
    const broken = exampleSeeds[0]![1]['user-data'].replace('ssh_pwauth: false', 'ssh_pwauth: [1]');
    expect((await cloudInitSchema(broken)).exitCode).not.toBe(0);
  });
});

describe('netplan generate --root-dir', () => {
  it.each(allSeeds)('accepts the network-config of %s', async (_name, seed) => {
    const result = await netplanGenerate(seed['network-config']);
    expect(result.output).not.toMatch(/Error/);
    expect(result.exitCode).toBe(0);
    const networkd = Object.values(result.networkd).join('\n');
    expect(networkd).toMatch(/Address=\d+\.\d+\.\d+\.\d+\/\d+/);
    expect(networkd).toMatch(/Gateway=/);
  });

  it('gives networkd an uplink with no address and no link-local addressing', async () => {
    const seed = exampleSeeds.find(([name]) => name === 'three-pis-ceph/pi2')![1];
    const { networkd } = await netplanGenerate(seed['network-config']);
    const uplink = networkd['10-netplan-eth1.network']!;
    expect(uplink).toContain('LinkLocalAddressing=no');
    expect(uplink).toContain('IPv6AcceptRA=no');
    expect(uplink).not.toMatch(/^Address=|DHCP=(yes|ipv4)/m);
  });

  it('builds a bridge over a MAC-matched uplink', async () => {
    const seed = exampleSeeds.find(([name]) => name === 'three-pis-bridge/node-a')![1];
    const { networkd, exitCode } = await netplanGenerate(seed['network-config']);
    expect(exitCode).toBe(0);
    expect(networkd['10-netplan-br-uplink.netdev']).toMatch(/Kind=bridge/);
    expect(networkd['10-netplan-uplink0.network']).toMatch(/Bridge=br-uplink/);
    expect(networkd['10-netplan-uplink0.link'] ?? '').toMatch(/00:e0:4c:68:01:01/);
  });

  it('rejects a network-config we broke on purpose', async () => {
    const broken = exampleSeeds[0]![1]['network-config'].replace('dhcp4: false', 'dhcp4: maybe');
    expect((await netplanGenerate(broken)).exitCode).not.toBe(0);
  });
});

describe('cloud-init\'s JSON Schema through ajv', () => {
  const schema = JSON.parse(readFileSync(CLOUD_INIT_SCHEMA, 'utf8'));
  // ajv-draft-04 is CommonJS; under NodeNext its class arrives as the default's default.
  const Ajv = ((Ajv04 as unknown as { default?: unknown }).default ?? Ajv04) as new (o: object) => {
    compile: (s: object) => ((d: unknown) => boolean) & { errors?: unknown } };
  // Formats are not checked, as cloud-init's own jsonschema run does not check them either.
  const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);

  it.each(allSeeds)('accepts the user-data of %s', (_name, seed) => {
    const ok = validate(load(seed['user-data']));
    if (!ok) throw new Error(JSON.stringify(validate.errors, null, 2));
  });

  it('rejects permissions written as a number', () => {
    const doc = load(exampleSeeds[0]![1]['user-data']) as { write_files: { permissions: unknown }[] };
    doc.write_files[0]!.permissions = 600;
    expect(validate(doc)).toBe(false);
  });
});
