// What `build-image serve` checks before it listens: a bundle the nodes can install from, for
// this cluster. Every problem is listed at once (a ServeRefused: exit 2, and nothing to undo:
// serve writes nothing). The SHA3-384 of each .snap is read once, with progress, unless skipped:
// a bad file found here is one message to the operator, found on the nodes it is a stalled
// formation (every node refuses it, and at first the operator's computer is the only source).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BUNDLE_FILE, BundleFormatError, channelProblems, parseBundleManifest, type BundleManifest, type BundleSnap } from '../../firstboot/bundle/bundle-manifest.js';
import type { Cluster } from '../config/types.js';
import { assertionHeaders, sha3Base64Url } from '../snaps/assertion.js';
import { ServeRefused } from './serve-refused.js';

const MAX_ASSERT_BYTES = 1024 * 1024; // a few KiB in practice

/** Bytes hashed so far of all the .snap files, for a progress line. */
export type HashProgress = (o: { file: string; bytes: number; total: number; done: boolean }) => void;

export interface CheckedBundle {
  readonly manifest: BundleManifest;
  readonly totalBytes: number;
  /** Not wrong, worth saying (a bundle made for a cluster of another name). */
  readonly notes: readonly string[];
}

const refuse = (dir: string, problems: readonly string[], fix: string) => new ServeRefused(problems.length === 1
  ? `--bundle ${dir}: ${problems[0]}. ${fix}`
  : `--bundle ${dir}: ${problems.length} problems:\n  ${problems.join('\n  ')}\n${fix}`);

async function readListing(dir: string): Promise<BundleManifest> {
  const folder = await stat(dir).catch(() => undefined);
  if (!folder) throw new ServeRefused(`--bundle ${dir} does not exist. Write the bundle first (build-image snaps --config FILE --out ${dir}), or give its folder.`);
  if (!folder.isDirectory()) throw new ServeRefused(`--bundle ${dir} is a file. Give the folder build-image snaps wrote.`);
  let text: string;
  try {
    text = await readFile(join(dir, BUNDLE_FILE), 'utf8');
  } catch {
    throw new ServeRefused(`--bundle ${dir} has no readable ${BUNDLE_FILE}: it is not a snap bundle. Give the folder build-image snaps wrote `
      + '(by default <cluster>-snaps-arm64 beside the cluster file).');
  }
  try {
    return parseBundleManifest(text);
  } catch (error) {
    if (error instanceof BundleFormatError) throw refuse(dir, error.problems.map((p) => `${BUNDLE_FILE}: ${p}`), 'Write the bundle again with build-image snaps.');
    throw error;
  }
}

async function fileProblems(dir: string, snap: BundleSnap): Promise<string[]> {
  const facts = await stat(join(dir, snap.file)).catch(() => undefined);
  const problems: string[] = [];
  if (!facts?.isFile()) problems.push(`${snap.file} is missing`);
  else if (facts.size !== snap.size) problems.push(`${snap.file} is ${facts.size} bytes; ${BUNDLE_FILE} says ${snap.size}`);
  const assertFacts = await stat(join(dir, snap.assert)).catch(() => undefined);
  if (!assertFacts?.isFile()) return [...problems, `${snap.assert} is missing`];
  if (assertFacts.size > MAX_ASSERT_BYTES) return [...problems, `${snap.assert} is ${assertFacts.size} bytes, not assertions`];
  // The snap-revision is what snapd binds the file to: it must name this file's digest and size.
  const revision = (await readFile(join(dir, snap.assert), 'utf8')).split(/\n\n(?=type: )/).map(assertionHeaders)
    .find((h) => h.get('type') === 'snap-revision');
  if (!revision) problems.push(`${snap.assert} has no snap-revision assertion`);
  else if (revision.get('snap-sha3-384') !== sha3Base64Url(snap['sha3-384']) || revision.get('snap-size') !== String(snap.size))
    problems.push(`${snap.assert}'s snap-revision is for another file than the ${snap.file} ${BUNDLE_FILE} lists`);
  return problems;
}

async function sha3Of(path: string, onBytes: (n: number) => void): Promise<string> {
  const hash = createHash('sha3-384');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    onBytes(chunk.length);
  }
  return hash.digest('hex');
}

export async function checkBundle(dir: string, cluster: Cluster, o: { verify: boolean; onHash?: HashProgress }): Promise<CheckedBundle> {
  const manifest = await readListing(dir);
  const problems = [...channelProblems(manifest, cluster.microcloud.channels),
    ...(await Promise.all(manifest.snaps.map((s) => fileProblems(dir, s)))).flat()];
  if (problems.length) throw refuse(dir, problems, 'Write the bundle again with build-image snaps --config FILE (it reuses its cache).');
  const totalBytes = manifest.snaps.reduce((sum, s) => sum + s.size, 0);
  if (o.verify) {
    let bytes = 0;
    const bad: string[] = [];
    for (const snap of manifest.snaps) {
      const digest = await sha3Of(join(dir, snap.file), (n) => {
        bytes += n;
        o.onHash?.({ file: snap.file, bytes, total: totalBytes, done: false });
      });
      if (digest !== snap['sha3-384']) bad.push(`${snap.file}'s SHA3-384 is not the one ${BUNDLE_FILE} and its assertion name (the file is damaged)`);
    }
    o.onHash?.({ file: '', bytes, total: totalBytes, done: true });
    if (bad.length) throw refuse(dir, bad, 'Write the bundle again with build-image snaps --config FILE; nothing was served.');
  }
  const notes = manifest.cluster === cluster.name ? [] : [`the bundle was made for cluster ${manifest.cluster}, this file is ${cluster.name} (its channels match)`];
  return { manifest, totalBytes, notes };
}
