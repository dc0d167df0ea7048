// The catalog of base images (images/catalog.json): data, validated when read.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { fromPackageRoot } from '../../package-root.js';
import type { ExpectedLabels } from './layout.js';

interface EntryCommon {
  readonly id: string;
  readonly name: string;
  /** Debian architecture name (arm64, amd64): picks the node runtime baked into the image. */
  readonly architecture: string;
  readonly labels: ExpectedLabels;
  /** A stand-in for tests, not an image to put on a Pi. */
  readonly test: boolean;
}

/** A base image that is built on the machine (the boot test's stand-in), never downloaded. */
export interface LocalEntry extends EntryCommon {
  /** The script that builds it, for the message telling the user to pass it with --base-image. */
  readonly builtBy: string;
}

export type CatalogEntry = DownloadEntry | LocalEntry;
export const isDownloadable = (entry: CatalogEntry): entry is DownloadEntry => 'directory' in entry;

export interface DownloadEntry extends EntryCommon {
  /** Base URL of the release directory, ending in '/'. */
  readonly directory: string;
  /** Regular expression for the image's file name inside SHA256SUMS. */
  readonly filePattern: string;
  readonly checksums: string;
  readonly signature: string;
  /** Absolute path of the pinned OpenPGP key (resolved against the catalog file). */
  readonly signingKey: string;
  readonly signingKeyFingerprint: string;
}

/** An --image id that the catalog does not list: a usage error. */
export class UnknownBaseImageError extends Error {
  override name = 'UnknownBaseImageError';
}

export const defaultCatalogPath = (): string => fromPackageRoot('images', 'catalog.json');

const entrySchema = {
  type: 'object',
  required: ['id', 'name', 'architecture', 'labels'],
  properties: {
    id: { type: 'string' }, name: { type: 'string' }, architecture: { enum: ['arm64', 'amd64'] },
    directory: { type: 'string', pattern: '^https?://.*/$' }, filePattern: { type: 'string' },
    checksums: { type: 'string' }, signature: { type: 'string' }, signingKey: { type: 'string' },
    signingKeyFingerprint: { type: 'string' }, test: { type: 'boolean' }, builtBy: { type: 'string' },
    labels: { type: 'object', required: ['boot', 'root'], properties: { boot: { type: 'string' }, root: { type: 'string' } } },
  },
  // Either downloaded and verified, or built here (then only for tests).
  oneOf: [
    { required: ['directory', 'filePattern', 'checksums', 'signature', 'signingKey'], not: { required: ['builtBy'] } },
    { required: ['builtBy', 'test'], properties: { test: { const: true } }, not: { required: ['directory'] } },
  ],
};
const validateCatalog = new Ajv({ allErrors: true, strict: false }).compile({
  type: 'object', required: ['images'], properties: { default: { type: 'string' }, images: { type: 'array', items: entrySchema } },
});

export async function loadCatalog(path: string): Promise<{ default?: string; images: CatalogEntry[] }> {
  const data: unknown = JSON.parse(await readFile(path, 'utf8'));
  if (!validateCatalog(data)) throw new Error(`${path}: not a valid catalog: ${JSON.stringify(validateCatalog.errors)}`);
  const catalog = data as { default?: string; images: (Omit<CatalogEntry, 'test'> & { test?: boolean })[] };
  return {
    ...(catalog.default ? { default: catalog.default } : {}),
    images: catalog.images.map((e) => {
      const entry = { ...e, test: e.test ?? false } as CatalogEntry;
      return isDownloadable(entry) ? { ...entry, signingKey: resolve(dirname(path), entry.signingKey) } : entry;
    }),
  };
}

export async function catalogEntry(path: string, id: string | undefined): Promise<CatalogEntry> {
  const catalog = await loadCatalog(path);
  const wanted = id ?? catalog.default;
  const entry = catalog.images.find((e) => e.id === wanted);
  if (!entry) throw new UnknownBaseImageError(`There is no base image "${wanted}" in ${path}. Known: ${catalog.images.map((e) => e.id).join(', ')}.`);
  return entry;
}
