// argv -> SnapsOptions for `build-image snaps`, and its --help. Every default is applied here, once.
import { UsageError } from '../errors.js';
import { commandHelp, COMMON_OPTIONS, commonOptions, parseCommandArgs, type CommonOptions } from './command-args.js';

export interface SnapsOptions extends CommonOptions {
  readonly arch: string;
  /** Default: beside the cluster file (bundleDir in snaps.ts). */
  readonly out?: string;
  readonly cacheDir?: string;
}

export const SNAP_ARCHES = ['arm64', 'amd64'] as const;

const OPTIONS = { ...COMMON_OPTIONS, arch: { type: 'string' }, out: { type: 'string', short: 'o' }, cache: { type: 'string' } } as const;

export const SNAPS_USAGE = 'build-image snaps --config FILE [--arch arm64|amd64] [--out DIR] [--cache DIR]';

export function parseSnapsArgs(argv: readonly string[]): SnapsOptions {
  const values = parseCommandArgs(argv, OPTIONS, { name: 'snaps', usage: SNAPS_USAGE });
  const arch = values.arch ?? 'arm64';
  if (!(SNAP_ARCHES as readonly string[]).includes(arch)) throw new UsageError(`--arch ${arch} is not one of ${SNAP_ARCHES.join(', ')}.`);
  return {
    ...commonOptions(values), arch,
    ...(values.out !== undefined ? { out: values.out } : {}), ...(values.cache !== undefined ? { cacheDir: values.cache } : {}),
  };
}

export const SNAPS_ABOUT = `  Downloads, once for the whole cluster, the snaps its nodes install: lxd, microceph,
  microovn and microcloud at the cluster file's channels (microcloud.channels), snapd, and
  every base the store's answers name (asked for in turn; no list of bases is kept here),
  for --arch, with the assertions that let a node install each as a store snap offline
  (snap ack NAME_REV.assert, then snap install NAME_REV.snap). Each file's SHA3-384 is
  checked while it downloads against the store's answer and against its snap-revision
  assertion; a file that fails is removed, named, and the command exits 5. Files are cached
  by content in the cache (CACHE/snaps/<sha3-384>/): a warm cache downloads nothing it has,
  and an interrupted download continues where it stopped. The store is
  $MICROCLOUD_PI_SNAP_STORE (default https://api.snapcraft.io); downloads go where its
  answers point, through the same proxies as the base image (HTTPS_PROXY, NO_PROXY...).
  Writes DIR/NAME_REV.snap, DIR/NAME_REV.assert and DIR/bundle.json (each snap's name,
  snap-id, revision, channel, base, version, size, SHA3-384 and file names, in the order to
  install them), replacing an earlier bundle in DIR whole.`;

const SNAPS_OPTIONS = `  -c, --config FILE   the cluster file (default: cluster.yaml)
      --arch arm64|amd64
                      the nodes' architecture (default: arm64)
  -o, --out DIR       the bundle folder (default: <cluster>-snaps-<arch> beside the
                      cluster file); a folder holding anything but a bundle is refused
      --cache DIR     where downloaded snaps are kept by content
                      (default: $MICROCLOUD_PI_CACHE or ~/.cache/microcloud-pi)`;

const SNAPS_EXITS = `  0  the bundle is written
  2  bad arguments, an invalid cluster file, or a channel the store has no such snap in
     for --arch (the channels it has are listed)
  4  the store or a download could not be reached (after retries); run it again: it resumes
  5  a file failed its SHA3-384 check (against the store's answer or its snap-revision
     assertion): it was removed`;

export const SNAPS_HELP = commandHelp({ usage: SNAPS_USAGE, about: SNAPS_ABOUT, options: SNAPS_OPTIONS, exits: SNAPS_EXITS });
