// The external programs the builder drives, which job needs which, and how to install them.
// Pure data and planners: finding them on this machine is find-programs.ts's job.
import type { Compression } from '../image/write/compress/compression.js';

export type Job = 'image build' | 'base image download' | '.xz base image'
  | 'xz compression where no liblzma binding loads' | 'flash';

export interface Program {
  readonly name: string;
  readonly purpose: string;
  /** Homebrew has none for a Linux-only program. */
  readonly packages: { readonly debian: string; readonly fedora: string; readonly brew?: string };
  /** Arguments that make it print its version (first line is kept). */
  readonly versionArgs: readonly string[];
  /** Text `--help` must mention, for programs whose BSD twin lacks options we use. */
  readonly mustSupport?: readonly string[];
  /** The only systems where a job drives it (lsblk exists on Linux alone; elsewhere flash points to other tools). */
  readonly onlyOn?: readonly NodeJS.Platform[];
}

export const PROGRAMS: readonly Program[] = [
  { name: 'xz', purpose: 'writes .img.xz where neither node-liblzma nor lzma-native loads (Linux arm64 without a compiler); the same bytes', packages: { debian: 'xz-utils', fedora: 'xz', brew: 'xz' }, versionArgs: ['--version'] },
  // Homebrew's util-linux has no lsblk: on macOS flash leaves cards to Raspberry Pi Imager or Etcher.
  { name: 'lsblk', purpose: 'tells which device flash would overwrite (Linux only)', packages: { debian: 'util-linux', fedora: 'util-linux' }, versionArgs: ['--version'], onlyOn: ['linux'] },
];

const JOB_PROGRAMS: Readonly<Record<Job, readonly string[]>> = {
  'image build': [], // in process: the FAT edit, the copy, the hash
  'base image download': [], // in process: the download, the OpenPGP check, xz-decompress
  '.xz base image': [],
  // --compress xz|zst runs in process (node-liblzma or lzma-native, zstd-wasm), as does decoding for flash.
  'xz compression where no liblzma binding loads': ['xz'],
  flash: ['lsblk'],
};

export const programNamed = (name: string): Program => PROGRAMS.find((p) => p.name === name)!;

/** Which jobs use a program, for `build-image doctor`. */
export const jobsUsing = (name: string): Job[] =>
  (Object.keys(JOB_PROGRAMS) as Job[]).filter((job) => JOB_PROGRAMS[job].includes(name));

export interface BuildNeeds {
  /** --seed-only: no image is written, only files (the runtime may still need fetching). */
  readonly seedOnly?: boolean;
  readonly download: boolean;
  readonly xzBase: boolean;
  readonly compression: Compression;
  /** Whether a liblzma binding (node-liblzma, lzma-native) loads on this machine: it compresses xz chunks in process. */
  readonly xzInProcess?: boolean;
}

export interface Need { readonly program: Program; readonly jobs: readonly Job[] }

function needsOf(jobs: readonly Job[]): Need[] {
  const byName = new Map<string, Job[]>();
  for (const job of jobs) for (const name of JOB_PROGRAMS[job]) byName.set(name, [...(byName.get(name) ?? []), job]);
  return [...byName].map(([name, why]) => ({ program: programNamed(name), jobs: why }));
}

export function programsForBuild(needs: BuildNeeds): Need[] {
  return needsOf([
    ...(needs.seedOnly ? [] : ['image build' as const]),
    ...(needs.download ? ['base image download' as const] : []),
    ...(needs.xzBase ? ['.xz base image' as const] : []),
    ...(needs.compression === 'xz' && needs.xzInProcess === false ? ['xz compression where no liblzma binding loads' as const] : []),
  ]);
}

/** Flashing decodes .img.xz and .img.zst in process: only the device check needs a program. */
export function programsForFlash(): Need[] {
  return needsOf(['flash']);
}

/** One install line per platform, for every missing program at once. */
export function installCommands(missing: readonly Program[]): string[] {
  const unique = (pick: (p: Program) => string | undefined) => [...new Set(missing.map(pick).filter(Boolean))].join(' ');
  const brew = unique((p) => p.packages.brew);
  return [
    `Debian/Ubuntu:      sudo apt-get install ${unique((p) => p.packages.debian)}`,
    `Fedora:             sudo dnf install ${unique((p) => p.packages.fedora)}`,
    ...(brew ? [`macOS (Homebrew):   brew install ${brew}`] : []),
  ];
}

/** Whether a job drives `program` on `platform` at all. */
export const usedOn = (program: Program, platform: NodeJS.Platform): boolean => !program.onlyOn || program.onlyOn.includes(platform);
