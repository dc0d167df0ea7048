// A catalog entry in, a verified `.img.xz` in the cache out. Order matters: the signature of
// SHA256SUMS is checked first, then the image against SHA256SUMS; nothing unverified is kept
// under a name that a later run would trust.
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DownloadEntry } from './catalog.js';
import { downloadResumable, fetchSmall, type Fetcher, type RetryPolicy } from './download.js';
import { DownloadError, VerificationError } from '../errors.js';
import { parseSha256Sums, sha256File } from '../hash-file.js';
import type { OnProgress } from '../progress.js';
import { verifyDetachedSignature } from './verify-signature.js';

export interface FetchedImage { readonly path: string; readonly file: string; readonly sha256: string; readonly fromCache: boolean }

/** The newest file of the catalog's pattern listed in SHA256SUMS. Pure. */
export function pickImage(entry: DownloadEntry, sums: ReadonlyMap<string, string>): { file: string; sha256: string } {
  const pattern = new RegExp(entry.filePattern);
  const files = [...sums.keys()].filter((f) => pattern.test(f))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const file = files.at(-1);
  if (!file) throw new VerificationError(`${entry.directory}${entry.checksums}`, `lists no file matching ${entry.filePattern}`);
  return { file, sha256: sums.get(file)! };
}

export async function fetchBaseImage(entry: DownloadEntry, options: {
  fetcher: Fetcher; cacheDir: string; onProgress?: OnProgress; log?: (line: string) => void; policy?: RetryPolicy;
}): Promise<FetchedImage> {
  try {
    return await fetchVerified(entry, options);
  } catch (error) {
    if (!(error instanceof DownloadError)) throw error;
    throw new DownloadError(error.url, error.reason, { cause: error, without: `On a site without Internet access, fetch the image `
      + `elsewhere (${entry.directory}${asGlob(entry.filePattern)}, checked against its ${entry.checksums}) and build from it `
      + `with --base-image FILE --image ${entry.id}.` });
  }
}

/** ^ubuntu-24\.04(\.\d+)?-x\.img\.xz$ as a person reads it: ubuntu-24.04*-x.img.xz. */
const asGlob = (pattern: string): string =>
  pattern.replace(/^\^|\$$/g, '').replace(/\([^)]*\)[?*]?/g, '*').replace(/\\d[+*]?/g, '*').replace(/\\(.)/g, '$1');

async function fetchVerified(entry: DownloadEntry, options: Parameters<typeof fetchBaseImage>[1]): Promise<FetchedImage> {
  const sumsUrl = `${entry.directory}${entry.checksums}`;
  const [sumsBytes, signature] = await Promise.all([
    fetchSmall(options.fetcher, sumsUrl, options.policy),
    fetchSmall(options.fetcher, `${entry.directory}${entry.signature}`, options.policy),
  ]);
  await verifyDetachedSignature({ data: sumsBytes, signature, keyring: entry.signingKey, label: sumsUrl });
  const { file, sha256 } = pickImage(entry, parseSha256Sums(Buffer.from(sumsBytes).toString('utf8')));
  const dir = join(options.cacheDir, 'downloads');
  const verified = join(dir, sha256, file);
  if (await stat(verified).then(() => true, () => false)) return { path: verified, file, sha256, fromCache: true };
  await mkdir(dir, { recursive: true });
  const partial = join(dir, `${file}.partial`);
  options.log?.(`download: ${entry.directory}${file}`);
  await downloadResumable(options.fetcher, `${entry.directory}${file}`, partial,
    { label: file, ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.policy ? { policy: options.policy } : {}) });
  const actual = await sha256File(partial);
  if (actual !== sha256) {
    await rm(partial, { force: true });
    throw new VerificationError(file, `SHA-256 ${actual} does not match ${sha256} from the signed SHA256SUMS; `
      + 'the download was removed. Run the command again to download it afresh');
  }
  await mkdir(join(dir, sha256), { recursive: true });
  await rename(partial, verified);
  return { path: verified, file, sha256, fromCache: false };
}
