// What ties a bundle's .snap to its .assert before snapd sees either: the snap-revision assertion
// in NAME_REV.assert names the file's SHA3-384 (base64url, header snap-sha3-384), its size and
// revision (snapd asserts/snap_asserts.go SnapRevision). The signatures are snapd's to check at
// `snap ack` (they chain to the root key built into snapd); this check makes sure the bytes a
// node hands to snapd are the ones that assertion vouches for, whichever source sent them. Pure.
import { assertionHeaders, headerMismatch, sha3Base64Url } from '../../builder/snaps/assertion.js';
import type { BundleSnap } from './bundle-manifest.js';

/** The headers of each snap-revision assertion in an assertion stream (each starts with its type line). */
function snapRevisions(stream: string): ReadonlyMap<string, string>[] {
  const found: ReadonlyMap<string, string>[] = [];
  const start = /(^|\n)type: snap-revision\n/g;
  for (let m = start.exec(stream); m; m = start.exec(stream)) found.push(assertionHeaders(stream.slice(m.index + m[1]!.length)));
  return found;
}

/** Why this .assert does not vouch for the entry's file, or undefined when it does. */
export function assertProblem(entry: BundleSnap, stream: string): string | undefined {
  const revisions = snapRevisions(stream);
  if (revisions.length !== 1) return `${entry.assert} holds ${revisions.length} snap-revision assertions, not 1`;
  const mismatch = headerMismatch(revisions[0]!, {
    'snap-sha3-384': sha3Base64Url(entry['sha3-384']), 'snap-revision': String(entry.revision), 'snap-size': String(entry.size),
  });
  return mismatch && `the snap-revision assertion in ${entry.assert} does not match bundle.json: ${mismatch}`;
}

/** The SHA3-384 (hex) the one snap-revision assertion of a checked .assert vouches for: the only digest its .snap may have. */
export function vouchedDigest(stream: string): string | undefined {
  const key = snapRevisions(stream)[0]?.get('snap-sha3-384');
  return key === undefined ? undefined : Buffer.from(key, 'base64url').toString('hex');
}
