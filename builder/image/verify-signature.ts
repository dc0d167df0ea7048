// Checks SHA256SUMS against its detached OpenPGP signature with the pinned key, through gpgv
// (no user keyring involved: only the key in the repo is trusted).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandRunner } from '../command-runner.js';
import { VerificationError } from './errors.js';
import { tempPrefix } from '../output/leftovers.js';

export async function verifyDetachedSignature(run: CommandRunner, options: {
  data: Uint8Array; signature: Uint8Array; keyring: string; label: string;
}): Promise<void> {
  const dir = await mkdtemp(tempPrefix('gpgv'));
  try {
    await writeFile(join(dir, 'data'), options.data);
    await writeFile(join(dir, 'data.sig'), options.signature);
    const ran = await run('gpgv', ['--keyring', options.keyring, join(dir, 'data.sig'), join(dir, 'data')],
      { env: { GNUPGHOME: dir } });
    if (ran.exitCode !== 0)
      throw new VerificationError(options.label, `its OpenPGP signature does not verify with the pinned key ${options.keyring}`
        + ` (${ran.stderr.trim().split('\n').pop()}); nothing from this release was used`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
