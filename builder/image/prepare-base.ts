// The prepared base: the raw base with our root payload written into `writable` (grown first if
// it lacks room). Made once per build; every node then reads it once, with its own seed written
// into a copy of the system-boot partition.
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandRunner } from '../command-runner.js';
import { copyImage } from './copy-image.js';
import { writeExt4Entries, type RootEntry } from './ext4-files.js';
import { growRootIfNeeded } from './grow-root.js';
import { sha256File, sha256Hex } from './hash-file.js';
import { readImageLayout, RASPI_LABELS, type ExpectedLabels } from './layout.js';
import { BufferPool, readSegments, recycling } from './read-segments.js';
import type { RootPayload } from './root-payload.js';
import { writeSparse } from './sparse-writer.js';
import { tempPrefix } from '../output/leftovers.js';

export interface InjectedFile { readonly partition: 'system-boot' | 'writable'; readonly path: string; readonly sha256: string }

export interface PreparedBase {
  readonly path: string;
  readonly bytes: number;
  /** Its system-boot partition, copied into a file of its own: each node's seed goes into a copy of that. */
  readonly boot: { readonly path: string; readonly offset: number; readonly bytes: number };
  readonly grownBytes: number;
  readonly injected: readonly InjectedFile[];
}

/**
 * Writes `path` (which must not exist yet): a copy of `rawBase` carrying `payload`, and beside it
 * (`path` + `.system-boot`) its system-boot partition. On failure, removes both.
 */
export async function prepareBase(options: {
  run: CommandRunner; rawBase: string; payload: RootPayload; path: string; labels?: ExpectedLabels;
}): Promise<PreparedBase> {
  const { run, payload, path } = options;
  const labels = options.labels ?? RASPI_LABELS;
  const staging = await mkdtemp(tempPrefix('root'));
  const bootPath = `${path}.system-boot`;
  try {
    await copyImage(run, options.rawBase, path);
    await chmod(path, 0o600);
    const generated: RootEntry[] = [];
    for (const [i, file] of payload.generated.entries()) {
      const source = join(staging, `generated-${i}`);
      await writeFile(source, file.content);
      generated.push({ kind: 'file', path: file.path, source, mode: file.mode });
    }
    const entries = [...generated, ...payload.entries];
    let payloadBytes = 0;
    for (const e of entries) if (e.kind === 'file') payloadBytes += (await stat(e.source)).size + 4096;
    const { layout, grownBytes } = await growRootIfNeeded(run, path, await readImageLayout(path, labels), payloadBytes, labels);
    await writeExt4Entries(run, path, layout.root, entries);
    const injected: InjectedFile[] = [
      ...payload.generated.map((f) => ({ partition: 'writable' as const, path: f.path, sha256: sha256Hex(f.content) })),
      ...await Promise.all(payload.entries.flatMap((e) => (e.kind === 'file' ? [e] : [])).map(async (e) =>
        ({ partition: 'writable' as const, path: e.path, sha256: await sha256File(e.source) }))),
    ];
    const boot = { path: bootPath, offset: layout.boot.offset, bytes: layout.boot.bytes };
    const pool = new BufferPool(4 * 1024 * 1024);
    await writeSparse(recycling(readSegments([{ path, from: boot.offset, bytes: boot.bytes }], pool.size, pool), pool), bootPath, 0o600);
    return { path, bytes: layout.size, boot, grownBytes, injected };
  } catch (error) {
    await rm(path, { force: true });
    await rm(bootPath, { force: true });
    throw error;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
