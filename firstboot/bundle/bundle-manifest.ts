// bundle.json: what a snap bundle holds (build-image snaps writes it; serve, the nodes and their
// peers read it). Here, not in builder/, so the Pi side reads it without the builder's
// dependencies. parseBundleManifest is the one gate, for a folder on the operator's computer and
// for an answer from a source a node does not trust yet alike: every field used is checked, and
// every file name comes out of it as NAME_REV.snap / NAME_REV.assert with a snap name's letters,
// so no listed name can reach outside the bundle's folder. Which bytes are right is decided by the
// assertions, not by this file (snap-file-check.ts). Pure.

export const BUNDLE_FILE = 'bundle.json';
/** bundle.json lists a few snaps in a few kilobytes: anything past this is not one, and is not read. */
export const MAX_BUNDLE_FILE_BYTES = 1024 * 1024;
export const BUNDLE_FORMAT = 1;

export interface BundleSnap {
  readonly name: string;
  readonly 'snap-id': string;
  readonly revision: number;
  readonly channel: string;
  /** The base it runs on, as the store named it (null for snapd and the bases). */
  readonly base: string | null;
  readonly type: string;
  readonly version: string;
  readonly role: 'cluster' | 'prerequisite';
  readonly size: number;
  /** Hex, as the store's answer gives it; the snap-revision assertion carries the same digest in base64url. */
  readonly 'sha3-384': string;
  readonly file: string;
  readonly assert: string;
}

export interface BundleManifest {
  readonly format: number;
  readonly cluster: string;
  readonly arch: string;
  readonly series: string;
  readonly store: string;
  readonly tool: string;
  /** In the order to install them: snapd, the bases, then the cluster's snaps. */
  readonly snaps: readonly BundleSnap[];
}

/** bundle.json is not one we can use: every problem, in words (each names its field). */
export class BundleFormatError extends Error {
  override name = 'BundleFormatError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
  }
}

/** A channel with its risk spelt out, as `snap list` shows what a snap tracks: 5.21 is 5.21/stable. */
export const withRisk = (channel: string): string => (channel.includes('/') ? channel : `${channel}/stable`);

// snapd's snap name rule (snap/naming ValidateSnap): lower-case letters, digits, single hyphens, a letter somewhere, 40 at most.
const SNAP_NAME = /^(?=.{1,40}$)(?=.*[a-z])[a-z0-9](?:-?[a-z0-9])*$/;
const SHA3_384_HEX = /^[0-9a-f]{96}$/;
/** A snap bigger than this is not one of ours (lxd is about 120 MB): a source cannot make a node fill its card. */
const MAX_SNAP_BYTES = 2 * 1024 ** 3;

type Raw = Record<string, unknown>;
const isObject = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value);

function snapProblems(raw: unknown, at: string): string[] {
  if (!isObject(raw)) return [`${at} is not an object`];
  const problems: string[] = [];
  const { name, revision, size } = raw;
  if (typeof name !== 'string' || !SNAP_NAME.test(name)) problems.push(`${at}.name ${JSON.stringify(name)} is not a snap name`);
  if (!Number.isSafeInteger(revision) || (revision as number) < 1) problems.push(`${at}.revision ${JSON.stringify(revision)} is not a store revision`);
  if (!Number.isSafeInteger(size) || (size as number) < 1 || (size as number) > MAX_SNAP_BYTES)
    problems.push(`${at}.size ${JSON.stringify(size)} is not a size in bytes from 1 to ${MAX_SNAP_BYTES}`);
  if (typeof raw['sha3-384'] !== 'string' || !SHA3_384_HEX.test(raw['sha3-384'])) problems.push(`${at}.sha3-384 is not 96 hex digits`);
  for (const key of ['snap-id', 'type', 'version']) if (typeof raw[key] !== 'string') problems.push(`${at}.${key} is not text`);
  if (typeof raw.channel !== 'string' || !raw.channel) problems.push(`${at}.channel is not a channel`);
  if (raw.base !== null && typeof raw.base !== 'string') problems.push(`${at}.base is neither text nor null`);
  if (raw.role !== 'cluster' && raw.role !== 'prerequisite') problems.push(`${at}.role is neither "cluster" nor "prerequisite"`);
  if (!problems.length) { // the names are checked against the name and revision, never taken as given
    if (raw.file !== `${name}_${revision}.snap`) problems.push(`${at}.file ${JSON.stringify(raw.file)} is not ${name}_${revision}.snap`);
    if (raw.assert !== `${name}_${revision}.assert`) problems.push(`${at}.assert ${JSON.stringify(raw.assert)} is not ${name}_${revision}.assert`);
  }
  return problems;
}

/** bundle.json's text -> its content, or BundleFormatError listing every problem. Unknown extra fields are kept out of the way, not refused. */
export function parseBundleManifest(text: string): BundleManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new BundleFormatError([`it is not JSON (${(error as Error).message})`]);
  }
  if (!isObject(raw)) throw new BundleFormatError(['it is not a JSON object']);
  if (raw.format !== BUNDLE_FORMAT)
    throw new BundleFormatError([`its format is ${JSON.stringify(raw.format)}, not ${BUNDLE_FORMAT} (made by another version of build-image)`]);
  const problems: string[] = [];
  for (const key of ['cluster', 'arch', 'series', 'store', 'tool']) if (typeof raw[key] !== 'string') problems.push(`${key} is not text`);
  if (!Array.isArray(raw.snaps) || raw.snaps.length === 0) problems.push('snaps is not a list of snaps');
  else raw.snaps.forEach((snap, i) => problems.push(...snapProblems(snap, `snaps[${i}]`)));
  if (!problems.length) {
    const names = (raw.snaps as BundleSnap[]).map((s) => s.name);
    const twice = names.filter((n, i) => names.indexOf(n) !== i);
    if (twice.length) problems.push(`snaps lists ${[...new Set(twice)].join(', ')} more than once`);
  }
  if (problems.length) throw new BundleFormatError(problems);
  return raw as unknown as BundleManifest;
}

/**
 * Where the bundle's cluster snaps differ from the channels the cluster file gives (a bundle built
 * from another cluster file would install other versions); [] when they match.
 */
export function channelProblems(manifest: BundleManifest, want: Readonly<Record<string, string>>): string[] {
  return Object.entries(want).flatMap(([name, channel]) => {
    const have = manifest.snaps.find((s) => s.name === name && s.role === 'cluster');
    if (!have) return [`${BUNDLE_FILE} has no ${name}`];
    return withRisk(have.channel) === withRisk(channel) ? []
      : [`${BUNDLE_FILE} has ${name} from ${have.channel}; the cluster file wants ${channel} (microcloud.channels.${name})`];
  });
}

/** What one name of a bundle is: bundle.json itself, a listed snap, or a listed snap's assertions. */
export type BundleEntry =
  | { readonly kind: 'manifest'; readonly file: typeof BUNDLE_FILE }
  | { readonly kind: 'snap' | 'assert'; readonly file: string; readonly snap: BundleSnap };

/** Every name a bundle serves, by name: the only names a server may open. */
export function bundleEntries(manifest: BundleManifest): ReadonlyMap<string, BundleEntry> {
  const entries = new Map<string, BundleEntry>([[BUNDLE_FILE, { kind: 'manifest', file: BUNDLE_FILE }]]);
  for (const snap of manifest.snaps) {
    entries.set(snap.file, { kind: 'snap', file: snap.file, snap });
    entries.set(snap.assert, { kind: 'assert', file: snap.assert, snap });
  }
  return entries;
}
