// npm run bench: builds every node of a 3-node and a 12-node cluster from a synthetic base image
// of realistic size (4 GiB raw, writable filled with real OS files from this machine), and prints
// per-stage times and peak memory. Not a test: numbers for the notes.
//   BENCH_DIR (default /tmp/mcpi-bench), BENCH_CONTENT (default "/usr/share /usr/lib/x86_64-linux-gnu"),
//   BENCH_XZ=1 adds xz: one image compressed whole against twelve from chunks (about 30 min)
//   BENCH_XZ=only: that comparison alone (on the base cached by an earlier run), then memory
//   BENCH_QUICK=1: raw images and memory only
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { run } from '../builder/cli/run.js';

const DIR = process.env.BENCH_DIR ?? '/tmp/mcpi-bench';
const CONTENT = (process.env.BENCH_CONTENT ?? '/usr/share /usr/lib/x86_64-linux-gnu').split(' ');
const PATH = `${process.env.PATH}:/usr/sbin:/sbin`;
const sh = (script: string) => execa('bash', ['-euo', 'pipefail', '-c', script], { env: { PATH, MTOOLS_SKIP_CHECK: '1' }, stdio: 'inherit' });

async function syntheticBase(): Promise<string> {
  const xz = join(DIR, 'base-4g.img.xz');
  if (existsSync(xz)) return xz;
  console.error('bench: building the synthetic 4 GiB base (once; cached in BENCH_DIR)');
  await sh(`
    cd ${DIR}; rm -rf root; mkdir -p root/etc/systemd/system root/var/lib root/usr
    for d in ${CONTENT.join(' ')}; do cp -a "$d" root/usr/ 2>/dev/null || true; done
    truncate -s 512M boot.fat; mkfs.vfat -F 32 -n system-boot boot.fat >/dev/null
    mkfs.ext4 -q -F -L writable -d root root.ext4 3583M >/dev/null
    truncate -s 4096M base-4g.img
    printf 'label: dos\\nstart=2048, size=1048576, type=c\\nstart=1050624, type=83\\n' | sfdisk -q base-4g.img
    dd if=boot.fat of=base-4g.img bs=4M seek=1M oflag=seek_bytes conv=notrunc,sparse status=none
    dd if=root.ext4 of=base-4g.img bs=4M seek=$((1050624*512)) oflag=seek_bytes conv=notrunc,sparse status=none
    rm -rf root boot.fat root.ext4
    xz -T2 -1 base-4g.img`);
  return xz;
}

function clusterFile(nodes: number): string {
  return stringify({
    cluster: { name: `bench${nodes}`, domain: 'bench.internal' },
    admin: { user: 'ops', ssh_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@laptop'] },
    network: { subnet: '10.0.0.0/24', gateway: '10.0.0.1', dns: ['10.0.0.1'] },
    nodes: Array.from({ length: nodes }, (_, i) => ({ name: `pi${i + 1}`, address: `10.0.0.${11 + i}` })),
  });
}

/**
 * A copy in the kernel plus a hash with the CPU's SHA instructions, of one built image: the floor
 * one node's image costs here (coreutils' sha256sum has no SHA instructions and would flatter us).
 */
async function floorSeconds(image: string): Promise<number> {
  const copy = join(DIR, 'floor.img');
  const start = performance.now();
  await execa('cp', ['--reflink=auto', '--sparse=auto', image, copy]);
  await execa('openssl', ['dgst', '-sha256', copy]);
  const seconds = (performance.now() - start) / 1000;
  await rm(copy, { force: true });
  return seconds;
}

async function bench(nodes: number, base: string, cache: string, compress = 'none', whole = false) {
  const config = join(DIR, `bench${nodes}.yaml`);
  await writeFile(config, clusterFile(nodes));
  const out = join(DIR, `out${nodes}`);
  await rm(out, { recursive: true, force: true });
  const lines: { at: number; line: string }[] = [];
  const start = performance.now();
  const code = await run(['-c', config, '--all', '--base-image', base, '--cache', cache, '-o', out, '--compress', compress,
    ...(whole ? ['--compress-whole'] : [])],
    { stdout: () => {}, stderr: (line) => lines.push({ at: performance.now(), line }),
      env: { MICROCLOUD_PI_PASSPHRASE: 'bench-passphrase-0123456789' } });
  const total = (performance.now() - start) / 1000;
  if (code !== 0) throw new Error(lines.map((l) => l.line).join('\n'));
  const nodeLines = lines.filter((l) => /^pi\d+: /.test(l.line));
  const firstNodeAt = nodeLines[0]!.at;
  const stage = (name: string) => nodeLines.map((l) => Number(new RegExp(`${name} ([0-9.]+) s`).exec(l.line)?.[1] ?? 0));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const perNodeAfterFirst = nodeLines.length > 1 ? (nodeLines.at(-1)!.at - firstNodeAt) / 1000 / (nodeLines.length - 1) : 0;
  const bytes = Number(JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')).nodes.pi1.bytes);
  const firstNode = stage('image')[0]! + stage('compress from chunks')[0]! + stage(', compress')[0]!;
  let line = `${nodes} nodes, --compress ${compress}${compress === 'none' ? '' : whole ? ' (whole)' : ' (chunked)'}: `
    + `pi1 ${(bytes / 1048576).toFixed(1)} MiB; total ${total.toFixed(1)} s; base prepare ${((firstNodeAt - start) / 1000 - firstNode).toFixed(1)} s; `
    + `raw image (copy, seed, hash) ${sum(stage('image')).toFixed(1)} s, compress from chunks ${sum(stage('compress from chunks')).toFixed(1)} s; `
    + `whole-file compress ${sum(stage(', compress')).toFixed(1)} s; each node after the first ${perNodeAfterFirst.toFixed(2)} s`;
  if (compress === 'none' && nodes > 1) {
    const floor = await floorSeconds(join(out, 'pi2.img'));
    line += `; floor (cp --reflink=auto --sparse=auto + openssl dgst -sha256 of pi2.img) ${floor.toFixed(2)} s; ratio ${(perNodeAfterFirst / floor).toFixed(2)} (goal <= 1.0)`;
  }
  console.log(line);
  await rm(out, { recursive: true, force: true }); // 12 images of 4 GiB add up
  return total;
}

await mkdir(DIR, { recursive: true });
const base = await syntheticBase();
const cache = join(DIR, 'cache');
const xzOnly = process.env.BENCH_XZ === 'only'; // the xz comparison alone, on the cached base
if (!xzOnly) {
  await rm(cache, { recursive: true, force: true }); // the first run measures decompression
  await bench(3, base, cache);
  await bench(12, base, cache);
}
const quick = process.env.BENCH_QUICK === '1' || xzOnly; // raw images and memory only
const whole = quick ? 0 : await bench(12, base, cache, 'zst', true);
if (!quick) await rm(join(cache, 'chunks'), { recursive: true, force: true }); // chunked starts cold
const chunked = quick ? 0 : await bench(12, base, cache, 'zst');
if (!quick) console.log(`12 zstd images: whole ${whole.toFixed(1)} s, chunked ${chunked.toFixed(1)} s (${(whole / chunked).toFixed(1)}x faster); `
  + `chunked 12 = ${(chunked / (whole / 12)).toFixed(2)} x one whole image (goal < 2)`);
if (process.env.BENCH_XZ === '1' || xzOnly) {
  // xz is what Imager and Etcher open, and slow: one image compressed whole (every chunk afresh,
  // in process) against twelve from chunks with a cold chunk cache; and, for reference, the xz
  // program's own multi-threaded run over the raw base (not part of the product).
  const xzWhole = await bench(1, base, cache, 'xz', true);
  await rm(join(cache, 'chunks'), { recursive: true, force: true });
  const xzChunked = await bench(12, base, cache, 'xz');
  const rawBase = (await execa('sh', ['-c', `ls ${cache}/*.img`])).stdout.trim();
  const started = performance.now();
  await execa('sh', ['-c', `xz -6 -T0 --block-size=16MiB --check=crc64 -c '${rawBase}' > /dev/null`]);
  const program = (performance.now() - started) / 1000;
  console.log(`xz: one image whole ${xzWhole.toFixed(1)} s; twelve from chunks (cold cache) ${xzChunked.toFixed(1)} s `
    + `= ${(xzChunked / xzWhole).toFixed(2)} x one whole (goal < 2); the xz program -T0 over the raw base ${program.toFixed(1)} s `
    + `(twelve from chunks = ${(xzChunked / program).toFixed(2)} x that)`);
}
// Peak memory as a user meets it: the built CLI in a process of its own (this one also holds tsx
// and the bench), 3 nodes compressed from chunks with a cold chunk cache, max RSS by GNU time.
const cli = join(import.meta.dirname, '..', 'dist', 'builder', 'cli', 'main.js');
if (existsSync(cli)) {
  await rm(join(cache, 'chunks'), { recursive: true, force: true });
  const out = join(DIR, 'out-memory');
  const r = await execa('/usr/bin/time', ['-f', '%M', process.execPath, cli, '-c', join(DIR, 'bench3.yaml'), '--all', '--base-image', base,
    '--cache', cache, '-o', out, '--compress', quick ? 'none' : 'zst'], { env: { PATH, MICROCLOUD_PI_PASSPHRASE: 'bench-passphrase-0123456789' }, reject: false });
  const kib = Number(r.stderr.trim().split('\n').pop());
  console.log(`peak memory of build-image --all (3 nodes) --compress ${quick ? 'none' : 'zst from chunks, cold cache'}: ${(kib / 1024).toFixed(0)} MiB max RSS (goal < 150)`);
  await rm(out, { recursive: true, force: true });
} else console.log('peak memory: run npm run build first to measure the CLI on its own');
console.log(`peak memory (bench process with tsx, max RSS): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
