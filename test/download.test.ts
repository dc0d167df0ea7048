// build-image --image ID against a loopback release server: signed SHA256SUMS, resumable
// download, and every way verification can fail ending in a clear error with nothing kept.
import { tempDir } from './helpers/temp-dir.js';
import { createHash } from 'node:crypto';
import { cp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { run } from '../builder/cli/run.js';
import { downloadResumable, nodeFetcher } from '../builder/image/base/download.js';
import { DownloadError } from '../builder/image/errors.js';
import { exampleFile, TEST_PASSPHRASE } from './helpers/examples.js';
import { fakeNodeRuntime, makeRaspiImage } from './helpers/raspi-fixture.js';
import { ReleaseServer } from './helpers/release-server.js';
import { makeTestSigner, type TestSigner } from './helpers/test-signer.js';

jest.setTimeout(120_000);

const IMAGE = 'ubuntu-24.04.9-preinstalled-server-arm64+raspi.img.xz';
const OLDER = 'ubuntu-24.04.8-preinstalled-server-arm64+raspi.img.xz';
const hex = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

let image: Uint8Array;
let runtime: string;
let signer: TestSigner;
let stranger: TestSigner;
beforeAll(async () => {
  image = new Uint8Array(await readFile(await makeRaspiImage('dl', [], { xz: true })));
  runtime = await fakeNodeRuntime();
  [signer, stranger] = await Promise.all([makeTestSigner('signer'), makeTestSigner('stranger')]);
});

async function release(options: { sumsFor?: Uint8Array; signWith?: TestSigner; serveImage?: Uint8Array } = {}) {
  const sums = `${hex(options.sumsFor ?? image)} *${IMAGE}\n${'0'.repeat(64)} *${OLDER}\n${'1'.repeat(64)} *SHA256SUMS-other.iso\n`;
  const sumsBytes = new TextEncoder().encode(sums);
  const files = new Map<string, Uint8Array>([
    ['/release/SHA256SUMS', sumsBytes],
    ['/release/SHA256SUMS.gpg', await (options.signWith ?? signer).sign(sumsBytes)],
    [`/release/${IMAGE}`, options.serveImage ?? image],
  ]);
  const server = new ReleaseServer(files);
  const base = await server.start();
  const dir = await tempDir('mcpi-dl-');
  const catalog = join(dir, 'catalog.json');
  await writeFile(catalog, JSON.stringify({ images: [{
    id: 'test-raspi', name: 'fixture', architecture: 'arm64', directory: `${base}/release/`,
    filePattern: '^ubuntu-24\\.04(\\.\\d+)?-preinstalled-server-arm64\\+raspi\\.img\\.xz$',
    checksums: 'SHA256SUMS', signature: 'SHA256SUMS.gpg', signingKey: signer.keyring,
    labels: { boot: 'system-boot', root: 'writable' }, test: true,
  }] }));
  await cp(exampleFile('three-pis-ceph'), join(dir, 'cluster.yaml'));
  await writeFile(join(dir, 'cluster.secrets.yaml'), `session_passphrase: ${TEST_PASSPHRASE}\n`, { mode: 0o600 });
  return { server, dir, catalog, cache: join(dir, 'cache'), out: join(dir, 'out'), config: join(dir, 'cluster.yaml') };
}

async function cli(r: Awaited<ReturnType<typeof release>>) {
  const err: string[] = [];
  const code = await run(['-c', r.config, '--node', 'pi1', '--image', 'test-raspi', '--catalog', r.catalog, '--cache', r.cache, '-o', r.out,
    '--node-runtime', runtime],
    { stdout: () => {}, stderr: (l) => err.push(l), env: {} });
  return { code, stderr: err.join('\n') };
}

const cacheFiles = async (cache: string): Promise<string[]> =>
  (await readdir(cache, { recursive: true }).catch(() => [] as string[])).map(String).sort();

describe('build-image --image (download)', () => {
  it('downloads the newest listed image, verifies it, builds, and reuses the cache next time', async () => {
    const r = await release();
    try {
      const first = await cli(r);
      expect(first.stderr).toMatch(/verified against the signed SHA256SUMS/);
      expect(first.code).toBe(0);
      expect(r.server.requests.map((q) => q.path)).toEqual(['/release/SHA256SUMS', '/release/SHA256SUMS.gpg', `/release/${IMAGE}`]);
      expect(JSON.parse(await readFile(join(r.out, 'manifest.json'), 'utf8')).base).toEqual({ file: IMAGE, sha256: hex(image) });
      expect(await readFile(join(r.cache, 'downloads', hex(image), IMAGE))).toEqual(Buffer.from(image));
      const second = await cli(r);
      expect(second.code).toBe(0);
      expect(second.stderr).toMatch(/\(cached\)/);
      expect(r.server.requests.filter((q) => q.path.endsWith('.img.xz'))).toHaveLength(1);
    } finally {
      await r.server.stop();
    }
  });

  it('resumes an interrupted download with a Range request', async () => {
    const r = await release();
    try {
      r.server.cuts.set(`/release/${IMAGE}`, [Math.floor(image.length * 0.4)]);
      const result = await cli(r);
      expect(result.code).toBe(0);
      const imageRequests = r.server.requests.filter((q) => q.path.endsWith('.img.xz'));
      expect(imageRequests).toEqual([
        { path: `/release/${IMAGE}` },
        { path: `/release/${IMAGE}`, range: `bytes=${Math.floor(image.length * 0.4)}-` },
      ]);
    } finally {
      await r.server.stop();
    }
  });

  it('keeps a partial download across runs and continues it', async () => {
    const r = await release();
    try {
      const partial = join(r.dir, 'part.img.xz');
      const third = Math.floor(image.length / 3);
      r.server.cuts.set(`/release/${IMAGE}`, [third]);
      const fastFail = { attempts: 1, sleep: async () => {}, now: () => Date.now() };
      const address = JSON.parse(await readFile(r.catalog, 'utf8')).images[0].directory as string;
      await expect(downloadResumable(nodeFetcher, `${address}${IMAGE}`, partial, { label: IMAGE, policy: fastFail }))
        .rejects.toBeInstanceOf(DownloadError);
      expect((await stat(partial)).size).toBe(third);
      await downloadResumable(nodeFetcher, `${address}${IMAGE}`, partial, { label: IMAGE, policy: fastFail });
      expect(hex(await readFile(partial))).toBe(hex(image));
    } finally {
      await r.server.stop();
    }
  });

  it('removes an image whose checksum does not match, exit 5', async () => {
    const corrupt = new Uint8Array(image);
    corrupt[1000] = corrupt[1000]! ^ 0xff;
    const r = await release({ serveImage: corrupt });
    try {
      const result = await cli(r);
      expect(result.code).toBe(5);
      expect(result.stderr).toMatch(new RegExp(`${IMAGE.replace(/[.+]/g, '\\$&')}: SHA-256 [0-9a-f]{64} does not match ${hex(image)}.*removed`));
      expect(await cacheFiles(r.cache)).toEqual(['downloads']);
      expect(await readdir(r.out).catch(() => [])).toEqual([]);
    } finally {
      await r.server.stop();
    }
  });

  it('refuses SHA256SUMS signed by another key before downloading anything big, exit 5', async () => {
    const r = await release({ signWith: stranger });
    try {
      const result = await cli(r);
      expect(result.code).toBe(5);
      expect(result.stderr).toMatch(/SHA256SUMS: its OpenPGP signature does not verify with the pinned key/);
      expect(r.server.requests.some((q) => q.path.endsWith('.img.xz'))).toBe(false);
      expect(await cacheFiles(r.cache)).toEqual([]);
    } finally {
      await r.server.stop();
    }
  });

  it('refuses a SHA256SUMS altered after signing, exit 5', async () => {
    const r = await release();
    try {
      const sums = r.server.files.get('/release/SHA256SUMS')!;
      r.server.files.set('/release/SHA256SUMS', new TextEncoder().encode(`${Buffer.from(sums).toString()}${'2'.repeat(64)} *evil.img\n`));
      const result = await cli(r);
      expect(result.code).toBe(5);
      expect(result.stderr).toMatch(/does not verify/);
    } finally {
      await r.server.stop();
    }
  });

  it('gives up at once on a missing file, exit 4, naming the URL', async () => {
    const r = await release();
    try {
      r.server.files.delete('/release/SHA256SUMS.gpg');
      const result = await cli(r);
      expect(result.code).toBe(4);
      expect(result.stderr).toMatch(/Could not download http:\/\/127\.0\.0\.1:\d+\/release\/SHA256SUMS\.gpg: HTTP 404/);
    } finally {
      await r.server.stop();
    }
  });
});
