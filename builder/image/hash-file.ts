// SHA-256 of bytes and of files, and the SHA256SUMS lists of them (a release's, which a base download
// is checked against, and ours beside the images).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** SHA-256 of bytes or text held in memory (seed files, generated files). */
export const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** SHA-256 of a file, streamed: images are gigabytes and never held in memory. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function parseSha256Sums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (match) sums.set(match[2]!, match[1]!);
  }
  return sums;
}

export function renderSha256Sums(sums: ReadonlyMap<string, string>): string {
  return [...sums.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([file, hash]) => `${hash} *${file}\n`).join('');
}
