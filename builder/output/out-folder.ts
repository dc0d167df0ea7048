// An output folder holds what one build of one cluster file made, and says so. Before a build
// writes into --out, it sorts what is there: files of this build (kept, or replaced as it
// goes), files an earlier build of ours made from another version of the cluster file, another
// base, another compression or the other kind of build (removed, and said), and files we did
// not make (never touched: the build stops before writing and names them). Ours means named in
// manifest.json or SHA256SUMS (images) or carrying our build.json (seed folders).
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Manifest } from '../image/write/release-files.js';
import { parseSha256Sums } from '../image/hash-file.js';
import { BOOT_FOLDER } from '../render/install-command.js';
import { TOOL } from '../tool-version.js';
import { isPartialName } from './leftovers.js';

export type BuildKind = 'images' | 'seeds';

/** What this build is: everything in the folder is judged against it. */
export interface ThisBuild {
  readonly kind: BuildKind;
  /** The cluster's name: another cluster's outputs are not ours to remove, even though this tool made them. */
  readonly cluster: string;
  readonly configFile: string;
  readonly configSha256: string;
  /** Every node the cluster file names. */
  readonly clusterNodes: readonly string[];
  /** The nodes this build writes now (their files are replaced, not kept). */
  readonly nodes: readonly string[];
  /** Images: `.img`, `.img.xz` or `.img.zst`. */
  readonly imageExtension?: string;
  /** Images: the base's SHA-256, once known (the first look, before the base is prepared, has none). */
  readonly baseSha256?: string;
}

/** What a look at the folder found (read by `surveyOutFolder`; the plan is made from this alone). */
export interface FolderSurvey {
  /** manifest.json: ours (parsed), not ours (a name for why), or absent. */
  readonly manifest?: Manifest | { readonly unreadable: string };
  readonly sums?: ReadonlyMap<string, string>;
  readonly images: readonly { readonly name: string; readonly bytes: number }[];
  /** Folders that look like a card's seed, or are named after a node; `build` from their build.json when ours. */
  readonly folders: readonly { readonly name: string; readonly build?: { readonly cluster: string; readonly configSha256: string } }[];
}

export interface Judged { readonly name: string; readonly why: string }

export interface OutFolderPlan {
  /** Ours, but not of this build: removed before anything is written. */
  readonly remove: readonly Judged[];
  /** Of this build, for nodes not built now: they stay and stay listed. */
  readonly keep: readonly string[];
  /** Not ours: the build stops and names them. */
  readonly foreign: readonly Judged[];
  /** The earlier manifest's entries for the images that stay (replaced ones included until rebuilt). */
  readonly manifestNodes: Manifest['nodes'];
  /** The folder holds a manifest.json of ours (to be rewritten at once, so that it lists only what stays). */
  readonly hadManifest: boolean;
}

const IMAGE = /^(.+?)(\.img(?:\.xz|\.zst)?)$/;
export const isImageName = (name: string): boolean => IMAGE.test(name);

function isOurManifest(m: FolderSurvey['manifest']): m is Manifest {
  return !!m && !('unreadable' in m);
}

/** Sorts the folder's contents for this build. Pure. */
export function planOutFolder(survey: FolderSurvey, build: ThisBuild): OutFolderPlan {
  const remove: Judged[] = [];
  const keep: string[] = [];
  const foreign: Judged[] = [];
  const manifestNodes: Record<string, Manifest['nodes'][string]> = {};
  const manifest = isOurManifest(survey.manifest) ? survey.manifest : undefined;
  const file = build.configFile;
  const otherConfig = (node: string) =>
    build.clusterNodes.includes(node) ? `made from another version of ${file}` : `${node} is no longer in ${file}`;

  if (survey.manifest && 'unreadable' in survey.manifest) foreign.push({ name: 'manifest.json', why: survey.manifest.unreadable });
  if (survey.sums && !manifest && !survey.manifest) foreign.push({ name: 'SHA256SUMS', why: 'there is no manifest.json beside it' });

  for (const image of survey.images) {
    const [, node, extension] = IMAGE.exec(image.name)!;
    const listed = manifest && Object.entries(manifest.nodes).find(([, entry]) => entry.file === image.name);
    if (!manifest || (!listed && !survey.sums?.has(image.name))) {
      foreign.push({ name: image.name, why: manifest ? 'not listed in manifest.json' : 'there is no manifest.json of ours beside it' });
      continue;
    }
    if (!listed) {
      remove.push({ name: image.name, why: 'listed in SHA256SUMS by an earlier build, but not in manifest.json: its build is not known' });
      continue;
    }
    const [listedNode, entry] = listed;
    if (manifest.cluster !== build.cluster) {
      foreign.push({ name: image.name, why: `an image of cluster ${manifest.cluster}, not ${build.cluster}` });
      continue;
    }
    if (entry.bytes !== image.bytes) {
      foreign.push({ name: image.name, why: `${image.bytes} bytes, not the ${entry.bytes} manifest.json records: not the image a build wrote` });
      continue;
    }
    const why = build.kind === 'seeds' ? 'an image, and this is a --seed-only build'
      : manifest.configSha256 !== build.configSha256 ? otherConfig(listedNode)
        : build.baseSha256 !== undefined && manifest.base.sha256 !== build.baseSha256 ? `made from another base image (${manifest.base.file})`
          : extension !== build.imageExtension ? `compressed otherwise (${extension}); this build writes ${build.imageExtension}`
            : undefined;
    if (why) {
      remove.push({ name: image.name, why });
      continue;
    }
    manifestNodes[listedNode] = entry;
    if (!build.nodes.includes(node!)) keep.push(image.name);
  }

  for (const folder of survey.folders) {
    const name = `${folder.name}/`;
    if (!folder.build) {
      foreign.push({ name, why: `not a seed folder this tool wrote (no ${BOOT_FOLDER}/build.json of ours)` });
      continue;
    }
    if (folder.build.cluster !== build.cluster) {
      foreign.push({ name, why: `a seed folder of cluster ${folder.build.cluster}, not ${build.cluster}` });
      continue;
    }
    const why = build.kind === 'images' ? 'a --seed-only folder, and this build writes images'
      : folder.build.configSha256 !== build.configSha256 ? otherConfig(folder.name) : undefined;
    if (why) remove.push({ name, why });
    else if (!build.nodes.includes(folder.name)) keep.push(name);
  }

  // With no image left, a seed build's folder has nothing for the manifest and SHA256SUMS to list.
  if (manifest && build.kind === 'seeds' && manifest.cluster === build.cluster) {
    remove.push({ name: 'manifest.json', why: 'it lists images, and this is a --seed-only build' });
    if (survey.sums) remove.push({ name: 'SHA256SUMS', why: 'it lists images, and this is a --seed-only build' });
  }
  return { remove, keep, foreign, manifestNodes, hadManifest: !!manifest };
}

/** --out holds files this build did not make: nothing was written, and they were not touched. */
export class OutFolderError extends Error {
  override name = 'OutFolderError';
  constructor(readonly dir: string, readonly foreign: readonly Judged[]) {
    super([
      `${dir} holds ${foreign.length === 1 ? 'a file' : 'files'} this build did not make, which it will not overwrite or list:`,
      ...foreign.map((f) => `  ${f.name}: ${f.why}`),
      'Nothing was written. Move them out of the folder, or give another --out.',
    ].join('\n'));
  }
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8')) as unknown;
}

const isOurs = (value: unknown): value is { tool: unknown; cluster: unknown; configSha256: string } => {
  const v = value as { tool?: unknown; configSha256?: unknown } | null;
  const tool = typeof v?.tool === 'string' ? v.tool : (v?.tool as { name?: unknown } | undefined)?.name;
  return tool === TOOL.name && typeof v?.configSha256 === 'string';
};

/** Looks at `dir` (absent: empty). Temporaries of a build are not looked at: the leftover sweep owns them. */
export async function surveyOutFolder(dir: string, nodeNames: readonly string[]): Promise<FolderSurvey> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  let manifest: FolderSurvey['manifest'];
  let sums: Map<string, string> | undefined;
  const images: { name: string; bytes: number }[] = [];
  const folders: { name: string; build?: { cluster: string; configSha256: string } }[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (isPartialName(entry.name)) continue;
    if (entry.name === 'manifest.json') {
      const parsed = await readJson(path).catch(() => undefined);
      manifest = isOurs(parsed) && typeof (parsed as Partial<Manifest>).nodes === 'object' ? parsed as unknown as Manifest
        : { unreadable: 'not a manifest this tool wrote' };
    } else if (entry.name === 'SHA256SUMS') {
      sums = parseSha256Sums(await readFile(path, 'utf8'));
    } else if (entry.isFile() && isImageName(entry.name)) {
      images.push({ name: entry.name, bytes: (await stat(path)).size });
    } else if (entry.isDirectory()) {
      const build = await readJson(join(path, BOOT_FOLDER, 'build.json')).catch(() => undefined);
      const seedLike = isOurs(build) || nodeNames.includes(entry.name)
        || await stat(join(path, 'user-data')).then(() => true, () => false)
        || await stat(join(path, BOOT_FOLDER)).then(() => true, () => false);
      if (seedLike) folders.push({ name: entry.name, ...(isOurs(build) ? { build: { cluster: String(build.cluster), configSha256: build.configSha256 } } : {}) });
    } else if (nodeNames.includes(entry.name)) {
      folders.push({ name: entry.name }); // a file where a seed folder would go
    }
  }
  return { ...(manifest ? { manifest } : {}), ...(sums ? { sums } : {}), images, folders };
}

/**
 * Looks at `dir` for `build`: stops (OutFolderError) on anything not ours; with `apply`, removes
 * what is ours but not of this build and says so. Returns the plan.
 */
export async function claimOutFolder(dir: string, build: ThisBuild, log: (line: string) => void,
  options: { apply: boolean }): Promise<OutFolderPlan> {
  const plan = planOutFolder(await surveyOutFolder(dir, build.clusterNodes), build);
  if (plan.foreign.length) throw new OutFolderError(dir, plan.foreign);
  if (!options.apply) return plan;
  for (const { name, why } of plan.remove) {
    await rm(join(dir, name), { recursive: true, force: true });
    log(`removed ${join(dir, name)}: ${why}`);
  }
  if (plan.keep.length) log(`kept ${plan.keep.join(', ')} in ${dir}: made from this same ${build.configFile}`);
  return plan;
}
