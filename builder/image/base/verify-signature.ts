// Checks SHA256SUMS against its detached OpenPGP signature with the pinned key, in process
// (openpgp.js: no gpgv, no user keyring; only the key in the repo is trusted). The signature
// may be binary or ASCII-armoured, as Ubuntu publishes either.
import { readFile } from 'node:fs/promises';
import type * as OpenPgp from 'openpgp';
import { VerificationError } from '../errors.js';

const ARMOUR = '-----BEGIN PGP SIGNATURE-----';

export async function verifyDetachedSignature(options: {
  data: Uint8Array; signature: Uint8Array; keyring: string; label: string;
}): Promise<void> {
  const refuse = (why: string, cause?: unknown) => new VerificationError(options.label,
    `its OpenPGP signature does not verify with the pinned key ${options.keyring} (${why}); nothing from this release was used`, { cause });
  const openpgp = await import('openpgp'); // 17 MiB once loaded: only builds that download pay for it
  const keys = await openpgp.readKeys({ binaryKeys: await readFile(options.keyring) });
  let signature: OpenPgp.Signature;
  try {
    const text = Buffer.from(options.signature.subarray(0, 64)).toString('latin1');
    signature = text.trimStart().startsWith(ARMOUR)
      ? await openpgp.readSignature({ armoredSignature: Buffer.from(options.signature).toString('utf8') })
      : await openpgp.readSignature({ binarySignature: options.signature });
  } catch (error) {
    throw refuse('the signature file is not an OpenPGP signature', error);
  }
  const message = await openpgp.createMessage({ binary: options.data });
  const { signatures } = await openpgp.verify({ message, signature, verificationKeys: keys, expectSigned: false });
  if (signatures.length === 0) throw refuse('it holds no signature');
  const outcomes = await Promise.allSettled(signatures.map((s) => s.verified));
  if (!outcomes.some((o) => o.status === 'fulfilled'))
    throw refuse((outcomes[0] as PromiseRejectedResult).reason instanceof Error ? ((outcomes[0] as PromiseRejectedResult).reason as Error).message : 'bad signature');
}
