// A base with room in `writable` for what we add, grown once into the cache when it lacks it.
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandRunner } from '../command-runner.js';
import { partialPath } from '../output/leftovers.js';
import { copyImage } from './copy-image.js';
import { bytesToAdd, growRootIfNeeded, ROOT_HEADROOM } from './grow-root.js';
import { readImageLayout, type ExpectedLabels } from './layout.js';

/**
 * When `writable` lacks room, grow a copy of the base once, in the cache, so every node copies
 * a base that already fits (growing means rewriting the whole partition).
 */
export async function baseWithRoom(run: CommandRunner, path: string, sha256: string, cacheDir: string, payloadBytes: number,
  labels: ExpectedLabels, log: (line: string) => void): Promise<string> {
  const layout = await readImageLayout(path, labels);
  const needed = bytesToAdd(layout, payloadBytes);
  if (needed === 0) return path;
  const grown = join(cacheDir, `${sha256}.room-${payloadBytes + ROOT_HEADROOM}.img`);
  if (await stat(grown).then(() => true, () => false)) return grown;
  log(`base: writable has ${(layout.root.freeBytes / 1048576).toFixed(0)} MiB free; growing a cached copy`);
  await mkdir(cacheDir, { recursive: true });
  const partial = partialPath(grown);
  try {
    await copyImage(run, path, partial);
    await growRootIfNeeded(run, partial, await readImageLayout(partial, labels), payloadBytes, labels);
    await rename(partial, grown);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return grown;
}
