// The image build: cluster + base image in, one flashable image per node out, with SHA256SUMS
// and manifest.json. Expensive work (decompressing the base) happens once for all nodes.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Cluster, ClusterSecrets } from './config/types.js';
import { buildNodeImage, type NodeImage } from './image/build-node-image.js';
import { extensionOf, type Compression } from './image/compression.js';
import { RASPI_LABELS, type ExpectedLabels } from './image/layout.js';
import { prepareBase } from './image/prepare-base.js';
import { prepareRawBase } from './image/decompress.js';
import { mergeManifest, parseSha256Sums, renderSha256Sums, type Manifest } from './image/release-files.js';
import { firstBootFolder, type FirstBootSources } from './first-boot-folder.js';
import { nodeNamed } from './render/node-named.js';
import type { SeedOptions } from './render/node-config.js';
import { renderSeed } from './render/seed.js';
import { TOOL } from './tool-version.js';
import { partialPath, sweepStaleLeftovers } from './output/leftovers.js';

export const defaultCacheDir = (env: Readonly<Record<string, string | undefined>>): string =>
  env.MICROCLOUD_PI_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'microcloud-pi');

export interface ImageBuildOptions {
  readonly cluster: Cluster;
  readonly clusterText: string;
  readonly secrets: ClusterSecrets;
  readonly nodes: readonly string[];
  /** --replace (the node takes over a dead member's name) and the join tickets to issue. */
  readonly seedOptions?: SeedOptions;
  readonly baseImage: string;
  /** The base image's SHA-256 when the caller already verified it (a catalog download). */
  readonly baseSha256?: string;
  readonly cacheDir: string;
  readonly outDir: string;
  readonly log: (line: string) => void;
  readonly compression?: Compression;
  readonly labels?: ExpectedLabels;
  /** The first-boot service that goes into the boot partition's folder. */
  readonly firstBoot: FirstBootSources;
  /** Compress each image whole instead of from cached chunks (for comparison in the bench). */
  readonly compressWhole?: boolean;
}

async function writeAtomically(path: string, content: string, mode = 0o644): Promise<void> {
  const partial = partialPath(path);
  await writeFile(partial, content, { mode });
  await rename(partial, path);
}

export async function buildImages(o: ImageBuildOptions): Promise<NodeImage[]> {
  o.nodes.forEach((name) => nodeNamed(o.cluster, name));
  for (const dir of [o.outDir, o.cacheDir, tmpdir()]) {
    for (const path of await sweepStaleLeftovers(dir)) o.log(`removed ${path}, left by an interrupted build`);
  }
  let lastPercent = -1;
  const base = await prepareRawBase(o.baseImage, o.cacheDir, (done, total) => {
    const percent = Math.floor((done / total) * 100);
    if (percent % 10 === 0 && percent !== lastPercent) o.log(`base: decompressing ${percent}%`);
    lastPercent = percent;
  }, o.baseSha256);
  o.log(`base: ${base.path}${base.fromCache ? ' (cached)' : ''}`);
  const configSha256 = createHash('sha256').update(o.clusterText).digest('hex');
  await mkdir(o.outDir, { recursive: true });
  const images: NodeImage[] = [];
  const started = performance.now();
  const folder = await firstBootFolder({ cluster: o.cluster, configSha256, sources: o.firstBoot, cacheDir: o.cacheDir });
  const prepared = await prepareBase({
    rawBase: base.path, labels: o.labels ?? RASPI_LABELS, folder, bootPath: partialPath(join(o.outDir, '.system-boot')),
  });
  o.log(`base: the first-boot folder written into system-boot once for all nodes (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  try {
    for (const node of o.nodes) {
      const image = await buildNodeImage({
        base: prepared, node,
        seed: renderSeed(o.cluster, node, o.secrets.sessionPassphrase, o.seedOptions),
        out: join(o.outDir, `${node}.img${extensionOf(o.compression ?? 'none')}`),
        compression: o.compression ?? 'none',
        ...(o.compressWhole ? {} : { chunkCacheDir: o.cacheDir }),
      });
      const s = image.seconds;
      const chunked = o.compression && o.compression !== 'none' && !o.compressWhole;
      o.log(`${node}: ${image.path} (image ${s.write.toFixed(1)} s${s.compress ? `, ${chunked ? 'compress from chunks' : 'compress'} ${s.compress.toFixed(1)} s` : ''})`);
      images.push(image);
    }
  } finally {
    await rm(prepared.boot.path, { force: true });
  }
  const sumsPath = join(o.outDir, 'SHA256SUMS');
  const sums = parseSha256Sums(await readFile(sumsPath, 'utf8').catch(() => ''));
  for (const image of images) sums.set(basename(image.path), image.sha256);
  await writeAtomically(sumsPath, renderSha256Sums(sums));
  const manifestPath = join(o.outDir, 'manifest.json');
  const previous = await readFile(manifestPath, 'utf8').then((t) => JSON.parse(t) as Manifest, () => undefined);
  const manifest = mergeManifest(previous, {
    tool: TOOL, cluster: o.cluster.name, configSha256,
    base: { file: basename(o.baseImage), sha256: base.sourceSha256 },
    nodes: Object.fromEntries(images.map(({ node, path, seconds: _s, ...rest }) => [node, { file: basename(path), ...rest }])),
  });
  await writeAtomically(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return images;
}
