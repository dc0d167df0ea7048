// A throwaway OpenPGP key standing in for Ubuntu's CD image key: signs SHA256SUMS in tests.
import { readFile, writeFile } from 'node:fs/promises';
import { tempDir } from './temp-dir.js';
import { join } from 'node:path';
import { execa } from 'execa';

export interface TestSigner { readonly keyring: string; sign(data: Uint8Array): Promise<Uint8Array> }

/** A signer whose key verifies with gpgv: under load, a fresh key was once seen missing from its export. */
export async function makeTestSigner(name: string): Promise<TestSigner> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const signer = await newSigner(name);
    const probe = new TextEncoder().encode(`probe ${attempt}`);
    const dir = await tempDir('mcpi-gpg-probe-');
    await writeFile(join(dir, 'data'), probe);
    await writeFile(join(dir, 'data.sig'), await signer.sign(probe));
    try {
      await execa('gpgv', ['--keyring', signer.keyring, join(dir, 'data.sig'), join(dir, 'data')]);
      return signer;
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`the test signing key never verified: ${(lastError as Error).message}`);
}

async function newSigner(name: string): Promise<TestSigner> {
  const home = await tempDir('mcpi-gpg-');
  const gpg = (args: string[]) => execa('gpg', ['--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args],
    { env: { GNUPGHOME: home }, encoding: 'buffer' });
  await gpg(['--quick-gen-key', `${name} <${name}@example.invalid>`, 'ed25519', 'sign', 'never']);
  const keyring = join(home, 'public-key.gpg');
  await writeFile(keyring, (await gpg(['--export'])).stdout);
  return {
    keyring,
    async sign(data) {
      const file = join(home, `data-${Date.now()}-${Math.random()}`);
      await writeFile(file, data);
      await gpg(['--detach-sign', '--output', `${file}.sig`, file]);
      return new Uint8Array(await readFile(`${file}.sig`));
    },
  };
}
