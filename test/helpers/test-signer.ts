// A throwaway OpenPGP key standing in for Ubuntu's CD image key: signs SHA256SUMS in tests.
import { readFile, writeFile } from 'node:fs/promises';
import { tempDir } from './temp-dir.js';
import { join } from 'node:path';
import { execa } from 'execa';
import { verifyDetachedSignature } from '../../builder/image/base/verify-signature.js';

export interface TestSigner { readonly keyring: string; sign(data: Uint8Array): Promise<Uint8Array> }

/** A signer whose key verifies with gpgv: under load, a fresh key was once seen missing from its export. */
export async function makeTestSigner(name: string): Promise<TestSigner> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const signer = await newSigner(name);
    const data = new TextEncoder().encode(`probe ${attempt}`);
    try {
      // The same check the downloader makes, so a key that passes here is one it accepts.
      await verifyDetachedSignature({ data, signature: await signer.sign(data), keyring: signer.keyring, label: 'test signer probe' });
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
