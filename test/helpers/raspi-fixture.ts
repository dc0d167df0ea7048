// Builds the small raspi-like test images with test/fixtures/make-raspi-image.sh, once per run.
import { tempDir } from './temp-dir.js';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO } from './examples.js';

const SCRIPT = join(REPO, 'test', 'fixtures', 'make-raspi-image.sh');
const PATH = `${process.env.PATH}:/usr/sbin:/sbin`;

export async function makeRaspiImage(name: string, args: string[] = [], options: { xz?: boolean } = {}): Promise<string> {
  const dir = await tempDir('mcpi-fixture-');
  const image = join(dir, `${name}.img`);
  await execa('bash', [SCRIPT, image, ...args], { env: { PATH } });
  if (!options.xz) return image;
  await execa('xz', ['-0', '-T2', image], { env: { PATH } });
  return `${image}.xz`;
}

export async function tool(file: string, args: string[], env: Record<string, string> = {}) {
  return execa(file, args, { reject: false, env: { PATH, MTOOLS_SKIP_CHECK: '1', ...env }, encoding: 'utf8' });
}

/** TEST DOUBLE of the Node.js runtime binary: a script, so no download is needed in tests. */
export async function fakeNodeRuntime(): Promise<string> {
  const { writeFile } = await import('node:fs/promises');
  const path = join(await tempDir('mcpi-node-'), 'node');
  await writeFile(path, '#!/bin/sh\n# test double of the node runtime\necho "fake node $*"\n', { mode: 0o755 });
  return path;
}
