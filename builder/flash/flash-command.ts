// build-image flash IMAGE DEVICE: refuse what must not be overwritten, say what will be, ask,
// write, read back, compare.
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Manifest } from '../image/release-files.js';
import type { OnProgress } from '../image/progress.js';
import { describeTarget, refusals, type DeviceProbe } from './device-facts.js';
import { writeAndVerify, type FlashResult } from './write-image.js';

/** The target must not be written: says why and what to do. */
export class FlashRefused extends Error {
  override name = 'FlashRefused';
}

export interface FlashOptions { readonly image: string; readonly target: string; readonly yes: boolean; readonly force: boolean }

export async function flash(options: FlashOptions, deps: {
  probe: DeviceProbe; confirm?: (question: string) => Promise<string>; log: (line: string) => void;
  onProgress?: OnProgress; beforeReadBack?: () => Promise<void>;
}): Promise<FlashResult> {
  const imageInfo = await stat(options.image).catch(() => undefined);
  if (!imageInfo?.isFile()) throw new FlashRefused(`${options.image} is not an image file (.img, .img.xz or .img.zst).`);
  const facts = await deps.probe(options.target);
  const reasons = refusals(facts);
  const raw = !/\.(xz|zst)$/.test(options.image);
  if (facts.isBlockDevice && raw && imageInfo.size > facts.bytes)
    reasons.push(`the image (${(imageInfo.size / 1e9).toFixed(1)} GB) is larger than the device`);
  if (reasons.length && !options.force)
    throw new FlashRefused(`Refusing to overwrite ${describeTarget(facts)}: ${reasons.join('; ')}. `
      + 'Check the device name (lsblk); pass --force only if you are sure.');
  deps.log(`About to overwrite ${describeTarget(facts)} with ${options.image}. Everything on it will be lost.`);
  if (!options.yes) {
    if (!deps.confirm) throw new FlashRefused('Not asking without a terminal: add --yes to confirm the overwrite.');
    const answer = await deps.confirm('Type "yes" to continue: ');
    if (answer.trim() !== 'yes') throw new FlashRefused('Not confirmed; nothing was written.');
  }
  const expectedSha256 = await recordedRawSha256(options.image);
  if (expectedSha256) deps.log(`Checking against ${join(dirname(options.image), 'manifest.json')}: raw SHA-256 ${expectedSha256}.`);
  return writeAndVerify(options.image, options.target, {
    ...(expectedSha256 ? { expectedSha256 } : {}),
    ...(raw ? { total: imageInfo.size } : {}),
    ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
    ...(deps.beforeReadBack ? { beforeReadBack: deps.beforeReadBack } : {}),
  });
}

/** The raw SHA-256 that the build's manifest.json beside `image` records for it, if there is one. */
export async function recordedRawSha256(image: string): Promise<string | undefined> {
  const text = await readFile(join(dirname(image), 'manifest.json'), 'utf8').catch(() => undefined);
  if (!text) return undefined;
  try {
    const manifest = JSON.parse(text) as Partial<Manifest>;
    const entry = Object.values(manifest.nodes ?? {}).find((n) => n.file === basename(image));
    return entry ? entry.raw?.sha256 ?? entry.sha256 : undefined;
  } catch {
    return undefined; // not our manifest: the read-back still guards the write
  }
}
