// bundle.json as a node receives it from a source it does not trust yet: every field it uses is
// checked, and every file name is NAME_REV.snap / NAME_REV.assert, so nothing a source says can
// name a path outside the bundle folder. Which bytes are right is decided by the assertions, not
// by this file (see snap-file-check.ts). Pure.
import type { BundleManifest, BundleSnap } from '../../builder/snaps/bundle.js';

/** A channel with its risk spelt out, as `snap list` shows what a snap tracks: 5.21 is 5.21/stable. */
export const withRisk = (channel: string): string => (channel.includes('/') ? channel : `${channel}/stable`);

/** What a node uses of each entry (bundle.json carries more; builder/snaps/bundle.ts writes it). */
export type BundleEntry = Pick<BundleSnap, 'name' | 'revision' | 'channel' | 'role' | 'size' | 'sha3-384' | 'file' | 'assert'>;
export interface NodeBundle { readonly snaps: readonly BundleEntry[] }

const SNAP_NAME = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/; // snapd snap/validate.go: lowercase, digits, dashes, 40 at most
const SHA3_384_HEX = /^[0-9a-f]{96}$/;
/** A snap bigger than this is not one of ours (lxd is about 120 MB): a source cannot make a node fill its card. */
const MAX_SNAP_BYTES = 2 * 1024 ** 3;

/** The checked bundle, or why it is not one. */
export function parseBundle(text: string, cluster: Readonly<Record<string, string>>): { bundle: NodeBundle } | { refused: string } {
  let data: Partial<BundleManifest>;
  try {
    data = JSON.parse(text) as Partial<BundleManifest>;
  } catch {
    return { refused: 'bundle.json is not JSON' };
  }
  if (data?.format !== 1 || !Array.isArray(data.snaps)) return { refused: 'bundle.json is not format 1 with a list of snaps' };
  const snaps: BundleEntry[] = [];
  for (const [i, s] of (data.snaps as Partial<BundleSnap>[]).entries()) {
    const bad = entryProblem(s);
    if (bad) return { refused: `bundle.json snaps[${i}]: ${bad}` };
    snaps.push({ name: s.name!, revision: s.revision!, channel: s.channel!, role: s.role!, size: s.size!, 'sha3-384': s['sha3-384']!,
      file: s.file!, assert: s.assert! });
  }
  const names = snaps.map((s) => s.name);
  if (new Set(names).size !== names.length) return { refused: 'bundle.json names a snap twice' };
  // The cluster's snaps at the channels node.json gives: a bundle built from another cluster file would install other versions.
  for (const [name, channel] of Object.entries(cluster)) {
    const entry = snaps.find((s) => s.name === name && s.role === 'cluster');
    if (!entry) return { refused: `bundle.json has no ${name}` };
    if (withRisk(entry.channel) !== withRisk(channel))
      return { refused: `bundle.json has ${name} from ${entry.channel}, the cluster file says ${channel}` };
  }
  return { bundle: { snaps } };
}

function entryProblem(s: Partial<BundleSnap>): string | undefined {
  if (typeof s !== 'object' || s === null) return 'not a mapping';
  if (typeof s.name !== 'string' || !SNAP_NAME.test(s.name)) return 'name is not a snap name';
  if (!Number.isSafeInteger(s.revision) || s.revision! < 1) return 'revision is not a store revision';
  if (typeof s.channel !== 'string' || !s.channel) return 'channel is missing';
  if (s.role !== 'cluster' && s.role !== 'prerequisite') return 'role is neither cluster nor prerequisite';
  if (!Number.isSafeInteger(s.size) || s.size! < 1 || s.size! > MAX_SNAP_BYTES) return `size is not 1 to ${MAX_SNAP_BYTES} bytes`;
  if (typeof s['sha3-384'] !== 'string' || !SHA3_384_HEX.test(s['sha3-384'])) return 'sha3-384 is not 96 hex digits';
  if (s.file !== `${s.name}_${s.revision}.snap`) return `file is not ${s.name}_${s.revision}.snap`;
  if (s.assert !== `${s.name}_${s.revision}.assert`) return `assert is not ${s.name}_${s.revision}.assert`;
  return undefined;
}
