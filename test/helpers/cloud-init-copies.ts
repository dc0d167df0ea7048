// Debian's real cloud-init making its copies of a user-data under a scratch folder
// (cloud-init-copies.py), and Python's codecs telling where a passphrase can still be read
// there (find-secret.py): the scrub is checked against what cloud-init writes, not against our
// own idea of it.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { fromPackageRoot } from '../../builder/package-root.js';
import { tempDir } from './temp-dir.js';

/** Where the copies land, under the scratch folder (the seed stands for /boot/firmware/user-data). */
export const COPIES = {
  seed: 'var/lib/cloud/seed/nocloud/user-data',
  raw: 'var/lib/cloud/instances/iid-pi/user-data.txt',
  mime: 'var/lib/cloud/instances/iid-pi/user-data.txt.i',
  cloudConfig: 'var/lib/cloud/instances/iid-pi/cloud-config.txt',
  pickle: 'var/lib/cloud/instances/iid-pi/obj.pkl',
  combined: 'run/cloud-init/combined-cloud-config.json',
  instanceData: 'run/cloud-init/instance-data-sensitive.json',
} as const;

/** A scratch folder holding every copy cloud-init makes of `userData` on a first boot. */
export async function cloudInitCopies(userData: string): Promise<string> {
  const root = await tempDir('mcpi-cloud-init-');
  const seed = join(root, 'var', 'lib', 'cloud', 'seed', 'nocloud');
  await mkdir(seed, { recursive: true });
  await writeFile(join(seed, 'user-data'), userData);
  await writeFile(join(seed, 'meta-data'), 'instance-id: iid-pi\nlocal-hostname: pi1\n');
  await execa('/usr/bin/python3', [fromPackageRoot('test', 'helpers', 'cloud-init-copies.py'), root]);
  return root;
}

export interface SecretReport {
  /** File (relative to the folder) -> the encodings the passphrase is still readable in there. */
  found: Record<string, string[]>;
  /** Files cloud-init reads back (pickles, YAML, JSON) that no longer load, with why. */
  unreadable: Record<string, string>;
}

export async function findSecret(root: string, secret: string): Promise<SecretReport> {
  const r = await execa('/usr/bin/python3', [fromPackageRoot('test', 'helpers', 'find-secret.py'), root], { input: secret });
  return JSON.parse(r.stdout) as SecretReport;
}
