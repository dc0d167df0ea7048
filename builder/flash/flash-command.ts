// build-image flash IMAGE DEVICE: refuse what must not be overwritten, say what will be, ask,
// write, read back, compare.
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { sha256File } from '../image/hash-file.js';
import type { Manifest } from '../image/write/release-files.js';
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
  // A mistyped /dev/sdX would otherwise become a new file that "verifies", and no card is written.
  if (!facts.exists)
    throw new FlashRefused(`${options.target} does not exist: there is no device by that name. List the cards with lsblk `
      + '(a card is a whole disk, such as /dev/sdb or /dev/mmcblk0) and give its path; to write the image into a file, create the file first.');
  const provenance = await checkProvenance(options.image, deps.log);
  if (!provenance.listed && !options.force)
    throw new FlashRefused(`Refusing to flash ${options.image}: ${provenance.problem}. Flash an image from the folder the build `
      + 'wrote it to, or build it again; pass --force only if you know what this image holds (only the read-back is then checked).');
  if (!provenance.listed) deps.log(`warning: ${provenance.problem}; flashing it anyway (--force): only the read-back will be checked.`);
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
  const expectedSha256 = provenance.listed ? provenance.rawSha256 : undefined;
  return writeAndVerify(options.image, options.target, {
    ...(expectedSha256 ? { expectedSha256 } : {}),
    ...(raw ? { total: imageInfo.size } : {}),
    ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
    ...(deps.beforeReadBack ? { beforeReadBack: deps.beforeReadBack } : {}),
  });
}

/** Whether the manifest.json beside an image lists it with its SHA-256, and what it says it was made from. */
export type Provenance =
  | { readonly listed: true; readonly node: string; readonly rawSha256: string }
  | { readonly listed: false; readonly problem: string };

/** Reads the manifest beside `image` and hashes the image (before any write: a refusal must come first); says what it checked. */
export async function checkProvenance(image: string, log: (line: string) => void): Promise<Provenance> {
  const manifestPath = join(dirname(image), 'manifest.json');
  const name = basename(image);
  const text = await readFile(manifestPath, 'utf8').catch(() => undefined);
  if (text === undefined) return { listed: false, problem: `there is no manifest.json beside it, so which build and cluster file made it cannot be checked` };
  let manifest: Partial<Manifest>;
  try {
    manifest = JSON.parse(text) as Partial<Manifest>;
  } catch {
    return { listed: false, problem: `${manifestPath} is not valid JSON, so which build made it cannot be checked` };
  }
  const listed = Object.entries(manifest.nodes ?? {}).find(([, entry]) => entry.file === name);
  if (!listed) return { listed: false, problem: `${manifestPath} does not list ${name}: it is not an image of the last build into that folder `
    + '(an older version of the cluster file, another compression, or a file the build did not make)' };
  const [node, entry] = listed;
  log(`Checking against ${manifestPath} that it lists ${name} with this SHA-256...`);
  const sha256 = await sha256File(image);
  if (sha256 !== entry.sha256)
    return { listed: false, problem: `${name} has SHA-256 ${sha256}, not the ${entry.sha256} that ${manifestPath} lists for ${node}: `
      + 'it is not the image that build wrote' };
  const rawSha256 = entry.raw?.sha256 ?? entry.sha256;
  log(`${name} is the image ${manifestPath} lists for ${node} (cluster ${manifest.cluster}, cluster file SHA-256 ${manifest.configSha256}): `
    + `SHA-256 matches. What is written will be checked against its raw SHA-256 ${rawSha256} and read back. `
    + 'Whether the cluster file changed since that build cannot be checked here: build again if it may have.');
  return { listed: true, node, rawSha256 };
}
