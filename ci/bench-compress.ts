// npm run bench:compress: the first node's --compress xz with a cold chunk cache (compressChunked,
// one chunk per core) against `xz -6 -T0` of the same raw bytes, in the same run, and a further
// node (the same image but for 1 MiB of seed) from the warm cache, each measured ROUNDS times;
// then the peak memory (max RSS by GNU time) of a 3-node --compress xz build by the CLI. Not a
// test: numbers for the notes. Smaller than bench-images.ts (minutes, not an hour).
//   BENCH_DIR (default /tmp/mcpi-bench-compress), BENCH_MIB raw size (default 512) made of the
//   files under BENCH_CONTENT (default /usr/lib/x86_64-linux-gnu), BENCH_ROUNDS (default 2)
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { compressChunked } from '../builder/image/write/compress/chunked-compress.js';
import { xzChunkEngine } from '../builder/image/write/compress/chunk-workers.js';

const DIR = process.env.BENCH_DIR ?? '/tmp/mcpi-bench-compress';
const MIB = Number(process.env.BENCH_MIB ?? 512);
const CONTENT = process.env.BENCH_CONTENT ?? '/usr/lib/x86_64-linux-gnu';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const REPO = join(import.meta.dirname, '..');
const PATH = `${process.env.PATH}:/usr/sbin:/sbin`;

/** BENCH_MIB of real files (libraries: what most of an OS image is), then zeros to a whole MiB. */
async function rawImage(): Promise<string> {
  const path = join(DIR, `raw-${MIB}.img`);
  if (await stat(path).then((s) => s.size === MIB * 1048576, () => false)) return path;
  const out = createWriteStream(path);
  let left = MIB * 1048576;
  for (const name of (await readdir(CONTENT)).sort()) {
    const file = join(CONTENT, name);
    if (left === 0 || !(await stat(file).then((s) => s.isFile(), () => false))) continue;
    const data = (await readFile(file)).subarray(0, left);
    left -= data.length;
    if (!out.write(data)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  out.end(Buffer.alloc(left));
  await new Promise<void>((resolve) => out.once('finish', () => resolve()));
  return path;
}

const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

const seconds = async (work: () => Promise<unknown>) => {
  const start = performance.now();
  await work();
  return (performance.now() - start) / 1000;
};

await mkdir(DIR, { recursive: true });
const raw = await rawImage();
console.log(`raw ${MIB} MiB from ${CONTENT}; ${availableParallelism()} cores; xz chunks by ${await xzChunkEngine()}`);
for (let round = 1; round <= ROUNDS; round++) {
  const cache = join(DIR, 'cache');
  await rm(cache, { recursive: true, force: true });
  const cpuBefore = process.cpuUsage();
  const ours = await seconds(() => compressChunked(raw, join(DIR, 'first-node.img.xz'), 'xz', cache));
  const oursCpu = cpuSeconds(process.cpuUsage(cpuBefore));
  let programCpu = 0;
  const program = await seconds(async () => {
    const r = await execa('sh', ['-c', `/usr/bin/time -f '%U %S' xz -6 -T0 --check=crc64 -c '${raw}' > '${join(DIR, 'program.img.xz')}'`]);
    programCpu = r.stderr.trim().split('\n').pop()!.split(' ').map(Number).reduce((a, b) => a + b, 0);
  });
  // A further node: its own seed (1 MiB of text at 1 MiB) in the same image, read as the build does (no raw image written).
  const seed = join(DIR, 'seed.bin');
  await writeFile(seed, Buffer.from(`node ${round}\n`.repeat(1048576)).subarray(0, 1048576));
  let further: Awaited<ReturnType<typeof compressChunked>> | undefined;
  const furtherSeconds = await seconds(async () => {
    further = await compressChunked([{ path: raw, from: 0, bytes: 1048576 }, { path: seed, from: 0, bytes: 1048576 },
      { path: raw, from: 2 * 1048576, bytes: (MIB - 2) * 1048576 }], join(DIR, 'further-node.img.xz'), 'xz', cache);
  });
  // CPU seconds too: the machine may be shared, and what others run stretches wall time, not CPU time.
  console.log(`round ${round}: first node, cold chunk cache, --compress xz ${ours.toFixed(1)} s (${oursCpu.toFixed(0)} s CPU); `
    + `xz -6 -T0 ${program.toFixed(1)} s (${programCpu.toFixed(0)} s CPU); ratio ${(ours / program).toFixed(2)} (goal <= 1.2), `
    + `CPU ${(oursCpu / programCpu).toFixed(2)}; a further node, warm cache, ${furtherSeconds.toFixed(1)} s `
    + `(${further!.compressedChunks} of ${further!.chunks} chunks compressed); load ${loadavg()[0]!.toFixed(2)}`);
}

// Peak memory of a whole 3-node --compress xz build by the CLI (from the TypeScript sources
// under tsx: a little more than the built CLI), cold chunk cache, on a fixture Pi image.
const base = join(DIR, 'base.img');
if (!(await stat(base).then(() => true, () => false)))
  await execa('bash', [join(REPO, 'test', 'fixtures', 'make-raspi-image.sh'), base, '--root-mib', '640', '--fill-mib', '512'], { env: { PATH } });
const config = join(DIR, 'cluster.yaml');
await writeFile(config, await readFile(join(REPO, 'examples', 'three-pis-ceph', 'cluster.yaml'), 'utf8'));
const runtime = join(DIR, 'node');
await writeFile(runtime, '#!/bin/sh\necho "fake node $*"\n', { mode: 0o755 });
for (let round = 1; round <= ROUNDS; round++) {
  const cache = join(DIR, 'cli-cache');
  await rm(cache, { recursive: true, force: true });
  await rm(join(DIR, 'out'), { recursive: true, force: true });
  const r = await execa('/usr/bin/time', ['-f', '%M %e', process.execPath, '--import', 'tsx', join(REPO, 'builder', 'cli', 'main.ts'),
    '-c', config, '--all', '--base-image', base, '--cache', cache, '--node-runtime', runtime, '-o', join(DIR, 'out'), '--compress', 'xz'],
  { cwd: REPO, env: { PATH, MICROCLOUD_PI_PASSPHRASE: 'bench-passphrase-0123456789' }, reject: false });
  const [kib, elapsed] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  console.log(`round ${round}: 3-node --compress xz build (${((await stat(base)).size / 1048576).toFixed(0)} MiB base, cold chunk cache): `
    + `peak ${(kib! / 1024).toFixed(0)} MiB max RSS of the node process (goal < 400), ${elapsed} s`);
}
