// The catalog of base images (images/catalog.json): data, validated when read.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { fromPackageRoot } from '../package-root.js';
import type { ExpectedLabels } from './layout.js';

export interface CatalogEntry {
  readonly id: string;
  readonly name: string;
  readonly architecture: string;
  /** Base URL of the release directory, ending in '/'. */
  readonly directory: string;
  /** Regular expression for the image's file name inside SHA256SUMS. */
  readonly filePattern: string;
  readonly checksums: string;
  readonly signature: string;
  /** Absolute path of the pinned OpenPGP key (resolved against the catalog file). */
  readonly signingKey: string;
  readonly signingKeyFingerprint: string;
  readonly labels: ExpectedLabels;
  readonly test: boolean;
}

/** An --image id that the catalog does not list: a usage error. */
export class UnknownBaseImageError extends Error {
  override name = 'UnknownBaseImageError';
}

export const defaultCatalogPath = (): string => fromPackageRoot('images', 'catalog.json');

const entrySchema = {
  type: 'object',
  required: ['id', 'name', 'architecture', 'directory', 'filePattern', 'checksums', 'signature', 'signingKey', 'labels'],
  properties: {
    id: { type: 'string' }, name: { type: 'string' }, architecture: { type: 'string' },
    directory: { type: 'string', pattern: '^https?://.*/$' }, filePattern: { type: 'string' },
    checksums: { type: 'string' }, signature: { type: 'string' }, signingKey: { type: 'string' },
    signingKeyFingerprint: { type: 'string' }, test: { type: 'boolean' },
    labels: { type: 'object', required: ['boot', 'root'], properties: { boot: { type: 'string' }, root: { type: 'string' } } },
  },
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
    images: catalog.images.map((e) => ({ ...e, test: e.test ?? false, signingKey: resolve(dirname(path), e.signingKey) })),
  };
}

export async function catalogEntry(path: string, id: string | undefined): Promise<CatalogEntry> {
  const catalog = await loadCatalog(path);
  const wanted = id ?? catalog.default;
  const entry = catalog.images.find((e) => e.id === wanted);
  if (!entry) throw new UnknownBaseImageError(`There is no base image "${wanted}" in ${path}. Known: ${catalog.images.map((e) => e.id).join(', ')}.`);
  return entry;
}
