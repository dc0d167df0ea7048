// The image build: cluster + base image in, one flashable image per node out, with SHA256SUMS
// and manifest.json. Expensive work (decompressing the base) happens once for all nodes.
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Cluster, ClusterSecrets } from './config/types.js';
import { buildNodeImage, type NodeImage } from './image/write/build-node-image.js';
import { extensionOf, type Compression } from './image/write/compress/compression.js';
import { RASPI_LABELS, type ExpectedLabels } from './image/base/layout.js';
import { prepareBase } from './image/base/prepare-base.js';
import { progressOfBytes, type OnProgress } from './image/progress.js';
import { prepareRawBase } from './image/base/decompress.js';
import { renderSha256Sums } from './image/hash-file.js';
import { mergeManifest, type Manifest } from './image/write/release-files.js';
import { firstBootFolder, type FirstBootSources } from './first-boot-folder.js';
import { nodeNamed } from './render/node-named.js';
import type { SeedOptions } from './render/node-config.js';
import { renderSeed } from './render/seed.js';
import { TOOL } from './tool-version.js';
import { partialPath, sweepStaleLeftovers } from './output/leftovers.js';
import { claimOutFolder, type ThisBuild } from './output/out-folder.js';

export const defaultCacheDir = (env: Readonly<Record<string, string | undefined>>): string =>
  env.MICROCLOUD_PI_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'microcloud-pi');

export interface ImageBuildOptions {
  readonly cluster: Cluster;
  readonly clusterText: string;
  /** The cluster file's name, for messages. */
  readonly configFile?: string;
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
  /** Progress of the long waits: unpacking the base, compressing each node's image. */
  readonly onProgress?: OnProgress;
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
  const configSha256 = createHash('sha256').update(o.clusterText).digest('hex');
  const thisBuild: ThisBuild = {
    kind: 'images', cluster: o.cluster.name, configFile: o.configFile ?? 'the cluster file', configSha256, clusterNodes: o.cluster.nodes.map((n) => n.name),
    nodes: o.nodes, imageExtension: `.img${extensionOf(o.compression ?? 'none')}`,
  };
  // Files we did not make stop the build now, before the base is unpacked or anything written.
  await claimOutFolder(o.outDir, thisBuild, o.log, { apply: false });
  let lastPercent = -1;
  const base = await prepareRawBase(o.baseImage, o.cacheDir, o.onProgress ? progressOfBytes('unpack', basename(o.baseImage), o.onProgress) : (done, total) => {
    const percent = Math.floor((done / total) * 100);
    if (percent % 10 === 0 && percent !== lastPercent) o.log(`base: decompressing ${percent}%`);
    lastPercent = percent;
  }, o.baseSha256);
  o.log(`base: ${base.path}${base.fromCache ? ' (cached)' : ''}`);
  const claimed = await claimOutFolder(o.outDir, { ...thisBuild, baseSha256: base.sourceSha256 }, o.log, { apply: true });
  await mkdir(o.outDir, { recursive: true });
  // The manifest and SHA256SUMS list exactly the images in the folder, after every change to it.
  let manifest: Manifest = {
    tool: TOOL, cluster: o.cluster.name, configSha256,
    base: { file: basename(o.baseImage), sha256: base.sourceSha256 }, nodes: claimed.manifestNodes,
  };
  if (claimed.hadManifest) await writeReleaseFiles(o.outDir, manifest);
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
        out: join(o.outDir, `${node}${thisBuild.imageExtension}`),
        compression: o.compression ?? 'none',
        ...(o.compressWhole ? {} : { chunkCacheDir: o.cacheDir }),
        ...(o.onProgress ? { onProgress: o.onProgress, progressLabel: `${node}${thisBuild.imageExtension} (node ${images.length + 1} of ${o.nodes.length})` } : {}),
      });
      const s = image.seconds;
      const chunked = o.compression && o.compression !== 'none' && !o.compressWhole;
      o.log(`${node}: ${image.path} (image ${s.write.toFixed(1)} s${s.compress ? `, ${chunked ? 'compress from chunks' : 'compress'} ${s.compress.toFixed(1)} s` : ''})`);
      images.push(image);
      const { node: _n, path, seconds: _s, ...rest } = image;
      manifest = mergeManifest(manifest, { ...manifest, nodes: { [node]: { file: basename(path), ...rest } } });
      await writeReleaseFiles(o.outDir, manifest);
    }
  } finally {
    await rm(prepared.boot.path, { force: true });
  }
  return images;
}

/**
 * SHA256SUMS from the manifest: one list of the folder's images, never two that disagree. The
 * manifest first: an image it lists is ours on the next run even if SHA256SUMS was not written.
 */
async function writeReleaseFiles(outDir: string, manifest: Manifest): Promise<void> {
  await writeAtomically(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const sums = new Map(Object.values(manifest.nodes).map((entry) => [entry.file, entry.sha256]));
  await writeAtomically(join(outDir, 'SHA256SUMS'), renderSha256Sums(sums));
}
