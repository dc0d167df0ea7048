// Compressed images made of cached, independently compressed chunks decompress to exactly the
// raw image with every decoder a Pi user has (xz, zstd, libarchive's bsdcat, which Raspberry
// Pi Imager uses), and a second node recompresses only the chunks its seed changed.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { run } from '../builder/cli/run.js';
import { compressChunked } from '../builder/image/write/compress/chunked-compress.js';
import { compressChunk, xzCompressor } from '../builder/image/codecs.js';
import { CHUNK_BYTES } from '../builder/image/write/compress/chunked-compress.js';
import { loadXzLibrary, NO_LZMA_NATIVE_ENV, XZ_LIBRARIES } from '../builder/image/xz-libraries.js';
import { partialPath } from '../builder/output/leftovers.js';
import { exampleFile, TEST_PASSPHRASE } from './helpers/examples.js';
import { TEST_ISSUED_MS, TEST_OPERATOR_KEY } from './helpers/operator-key.js';
import { fakeNodeRuntime, makeRaspiImage, tool } from './helpers/raspi-fixture.js';
import { tempDir } from './helpers/temp-dir.js';

jest.setTimeout(180_000);

// lzma-native is CommonJS without types; Etcher uses it to flash .img.xz.
const lzma = createRequire(import.meta.url)('lzma-native') as { createDecompressor(): NodeJS.ReadWriteStream };

const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

// Join tickets are issued at the build's moment unless this fixes it.
const TICKET_TIME = { MICROCLOUD_PI_TICKET_TIME: String(TEST_ISSUED_MS) };

async function build(dir: string, base: string, runtime: string, compress: string, out: string, ...more: string[]) {
  const err: string[] = [];
  const code = await run(['-c', join(dir, 'cluster.yaml'), '--all', '--base-image', base, '--cache', join(dir, 'cache'),
    '--node-runtime', runtime, '--compress', compress, '-o', out, ...more], { stdout: () => {}, stderr: (l) => err.push(l), env: TICKET_TIME });
  if (code !== 0) throw new Error(err.join('\n'));
}

/** A folder with the example cluster file, a fixed passphrase and operator key: every build of it gives the same bytes. */
async function workspace(): Promise<string> {
  const dir = await tempDir('mcpi-chunks-');
  await cp(exampleFile('three-pis-ceph'), join(dir, 'cluster.yaml'));
  await writeFile(join(dir, 'cluster.secrets.yaml'), `session_passphrase: ${TEST_PASSPHRASE}\noperator_key: ${TEST_OPERATOR_KEY}\n`,
    { mode: 0o600 });
  return dir;
}

describe('chunked compression', () => {
  it('gives, for every node, files that xz, zstd, bsdcat and lzma-native decompress to the raw image', async () => {
    const dir = await workspace();
    const base = await makeRaspiImage('chunk-base');
    const runtime = await fakeNodeRuntime();
    await build(dir, base, runtime, 'none', join(dir, 'raw'));
    await build(dir, base, runtime, 'xz', join(dir, 'xz'));
    await build(dir, base, runtime, 'zst', join(dir, 'zst'));
    for (const node of ['pi1', 'pi2', 'pi3']) {
      const raw = await sha256(join(dir, 'raw', `${node}.img`));
      for (const [ext, decoders] of [['xz', ['xz -dc', 'bsdcat']], ['zst', ['zstd -dc', 'bsdcat']]] as const) {
        const file = join(dir, ext, `${node}.img.${ext}`);
        for (const decoder of decoders) {
          const out = join(dir, 'decoded.img');
          const r = await tool('bash', ['-c', `${decoder} '${file}' > '${out}'`]);
          expect(r.exitCode).toBe(0);
          expect(`${node} ${ext} ${decoder}: ${await sha256(out)}`).toBe(`${node} ${ext} ${decoder}: ${raw}`);
        }
      }
    }
    // Etcher decodes .xz with lzma-native's stream decoder: it must read past the first stream.
    for (const node of ['pi1', 'pi3']) {
      const hash = createHash('sha256');
      const decoder = lzma.createDecompressor();
      decoder.on('data', (chunk: Buffer) => hash.update(chunk));
      await pipeline(createReadStream(join(dir, 'xz', `${node}.img.xz`)), decoder);
      expect(hash.digest('hex')).toBe(await sha256(join(dir, 'raw', `${node}.img`)));
    }
    const cached = await readdir(join(dir, 'cache', 'chunks', 'xz'));
    expect(cached.every((f) => /^[0-9a-f]{64}\.xz$/.test(f))).toBe(true);
  });

  it('recompresses only the chunks a second node changed', async () => {
    const dir = await workspace();
    const base = await makeRaspiImage('chunk-base2', ['--root-mib', '160']);
    await build(dir, base, await fakeNodeRuntime(), 'none', join(dir, 'raw'));
    const cache = join(dir, 'fresh-cache');
    const first = await compressChunked(join(dir, 'raw', 'pi1.img'), join(dir, 'pi1.img.zst'), 'zst', cache);
    const second = await compressChunked(join(dir, 'raw', 'pi2.img'), join(dir, 'pi2.img.zst'), 'zst', cache);
    expect(first.chunks).toBeGreaterThanOrEqual(14);
    expect(second.chunks).toBe(first.chunks);
    // Its seed differs, in the first free clusters beside the FAT and the root folder (the
    // first-boot folder sits at the end of the partition): one chunk.
    expect(second.compressedChunks).toBe(1);
    expect(second.rawSha256).toBe(await sha256(join(dir, 'raw', 'pi2.img')));
  });

  it('--compress-whole compresses every chunk afresh into the same bytes, and keeps no chunk', async () => {
    const dir = await workspace();
    const base = await makeRaspiImage('chunk-whole');
    const runtime = await fakeNodeRuntime();
    await build(dir, base, runtime, 'zst', join(dir, 'chunked'));
    await rm(join(dir, 'cache', 'chunks'), { recursive: true });
    await build(dir, base, runtime, 'zst', join(dir, 'whole'), '--compress-whole');
    for (const node of ['pi1', 'pi2', 'pi3'])
      expect(await sha256(join(dir, 'whole', `${node}.img.zst`))).toBe(await sha256(join(dir, 'chunked', `${node}.img.zst`)));
    expect(await readdir(join(dir, 'cache'))).not.toContain('chunks');
    expect((await readdir(join(dir, 'whole'))).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('lets nodes that compress the same chunks at once share one cache', async () => {
    // Regression: two builds of one chunk once shared a temporary, and one rename found it gone.
    const dir = await tempDir('mcpi-chunks-');
    const raw = await makeRaspiImage('chunk-race', ['--root-mib', '96']);
    const cache = join(dir, 'cache');
    for (let round = 0; round < 2; round++) {
      const outs = [0, 1, 2].map((i) => join(dir, `${round}-${i}.img.zst`));
      const results = await Promise.all(outs.map((out) => compressChunked(raw, out, 'zst', join(cache, String(round)))));
      for (const [i, out] of outs.entries()) {
        const decoded = await tool('bash', ['-c', `zstd -dc '${out}' | sha256sum`]);
        expect(`${i}: ${decoded.stdout.split(' ')[0]}`).toBe(`${i}: ${results[i]!.rawSha256}`);
      }
      expect(await readdir(join(cache, String(round), 'chunks', 'zst-wasm'))).toEqual(
        expect.arrayContaining([expect.stringMatching(/^[0-9a-f]{64}\.zst$/)]));
      expect((await readdir(join(cache, String(round), 'chunks', 'zst-wasm'))).filter((f) => f.includes('partial'))).toEqual([]);
    }
    expect(partialPath('x')).not.toBe(partialPath('x'));
  });
});

describe('xz chunks from either liblzma binding or the xz program', () => {
  // Chunks are cached by their raw bytes' hash: whichever of the three compressed a cached chunk, a
  // build must give the same image. Both bindings must load here (node-liblzma is built at npm ci).
  it('are the same bytes from node-liblzma, lzma-native and the xz program, which xz reads back', async () => {
    const dir = await tempDir('mcpi-xzsame-');
    // A whole chunk: text-like lines with repeats (liblzma must really work), noise (stored as is), zeros.
    const words = Array.from({ length: 4000 }, (_, i) => `line ${i} ${(i * 2654435761) % 9973}\n`).join('');
    const text = Buffer.from(words.repeat(Math.ceil((CHUNK_BYTES / 2) / words.length))).subarray(0, CHUNK_BYTES / 2);
    const data = Buffer.concat([text, randomBytes(CHUNK_BYTES / 4), Buffer.alloc(CHUNK_BYTES / 4)]);
    expect(await xzCompressor()).toBe('node-liblzma');
    for (const library of XZ_LIBRARIES) {
      const encoder = await loadXzLibrary(library);
      if (encoder instanceof Error) throw new Error(`${library} does not load here: ${encoder.message}`);
      await pipeline(Readable.from([data]), encoder.createCompressor(), createWriteStream(join(dir, `${library}.xz`)));
    }
    process.env[NO_LZMA_NATIVE_ENV] = '1';
    try {
      expect(await xzCompressor()).toBe('xz program');
      await compressChunk(data, 'xz', join(dir, 'xz-program.xz'));
    } finally {
      delete process.env[NO_LZMA_NATIVE_ENV];
    }
    const want = await sha256(join(dir, 'node-liblzma.xz'));
    for (const made of ['lzma-native', 'xz-program']) expect(`${made}: ${await sha256(join(dir, `${made}.xz`))}`).toBe(`${made}: ${want}`);
    await tool('xz', ['-t', join(dir, 'node-liblzma.xz')]);
    const back = join(dir, 'back');
    await tool('sh', ['-c', `xz -dc '${join(dir, 'node-liblzma.xz')}' > '${back}'`]);
    expect((await readFile(back)).equals(data)).toBe(true);
  });
});
