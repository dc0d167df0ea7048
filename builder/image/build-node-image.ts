// One node's SD-card image: copy the raw base, check its layout, grow `writable` if our files
// do not fit, write the seed into `system-boot` and our files into `writable`, hash, publish.
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Seed } from '../render/seed.js';
import { SEED_FILES } from '../render/seed.js';
import type { CommandRunner } from './command-runner.js';
import { copyImage } from './copy-image.js';
import { writeExt4Entries, type RootEntry } from './ext4-files.js';
import { writeFatFiles } from './fat-files.js';
import { growRootIfNeeded } from './grow-root.js';
import { sha256File } from './hash-file.js';
import { readImageLayout } from './layout.js';
import type { RootPayload } from './root-payload.js';

export interface InjectedFile { readonly partition: 'system-boot' | 'writable'; readonly path: string; readonly sha256: string }

export interface NodeImage {
  readonly node: string;
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly grownBytes: number;
  readonly injected: readonly InjectedFile[];
  readonly seconds: { copy: number; inject: number; hash: number };
}

const sha256 = (text: string | Uint8Array) => createHash('sha256').update(text).digest('hex');

export async function buildNodeImage(options: {
  run: CommandRunner; rawBase: string; node: string; seed: Seed; payload: RootPayload; out: string;
  now?: () => number;
}): Promise<NodeImage> {
  const { run, rawBase, node, seed, payload, out } = options;
  const now = options.now ?? (() => performance.now() / 1000);
  const partial = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  const staging = await mkdtemp(join(tmpdir(), 'mcpi-root-'));
  try {
    let t = now();
    await copyImage(run, rawBase, partial);
    await chmod(partial, 0o600); // user-data inside carries the join passphrase
    const copySeconds = now() - t;
    t = now();
    const generatedEntries: RootEntry[] = [];
    for (const [i, file] of payload.generated.entries()) {
      const source = join(staging, `generated-${i}`);
      await writeFile(source, file.content);
      generatedEntries.push({ kind: 'file', path: file.path, source, mode: file.mode });
    }
    const entries = [...generatedEntries, ...payload.entries];
    let payloadBytes = 0;
    for (const e of entries) if (e.kind === 'file') payloadBytes += (await stat(e.source)).size + 4096;
    const { layout, grownBytes } = await growRootIfNeeded(run, partial, await readImageLayout(partial), payloadBytes);
    await writeFatFiles(run, partial, layout.boot, SEED_FILES.map((name) => ({ name, content: seed[name] })));
    await writeExt4Entries(run, partial, layout.root, entries);
    const injectSeconds = now() - t;
    t = now();
    const imageSha256 = await sha256File(partial);
    const hashSeconds = now() - t;
    const injected: InjectedFile[] = [
      ...SEED_FILES.map((name) => ({ partition: 'system-boot' as const, path: `/${name}`, sha256: sha256(seed[name]) })),
      ...payload.generated.map((f) => ({ partition: 'writable' as const, path: f.path, sha256: sha256(f.content) })),
      ...await Promise.all(payload.entries.filter((e) => e.kind === 'file').map(async (e) =>
        ({ partition: 'writable' as const, path: e.path, sha256: await sha256File((e as { source: string }).source) }))),
    ];
    const bytes = (await stat(partial)).size;
    await rename(partial, out);
    return { node, path: out, bytes, sha256: imageSha256, grownBytes, injected,
      seconds: { copy: copySeconds, inject: injectSeconds, hash: hashSeconds } };
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
