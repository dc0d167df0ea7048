// The assertions that make a downloaded snap a store snap on the Pi (`snap ack`, then `snap
// install` without --dangerous), fetched the way snapd's fetcher walks prerequisites
// (asserts/snap_asserts.go Prerequisites): the snap-revision filed under the file's SHA3-384,
// the snap-declaration of its snap-id, the accounts of its developer and publisher, and the
// account-key each of those is signed with. Each is checked for the headers that tie it to this
// file and to the one above it; the signatures are snapd's to check, on the Pi, at `snap ack`
// (their chain ends in the root key built into snapd).
//
// What snapd holds built in (asserts/sysdb/trusted.go: the "canonical" account and the root
// account-key) is neither fetched nor written: snap download's fetcher finds it in its database
// and saves only what it had to fetch (store/tooling/tooling.go AssertionFetcher).
import { DownloadError, VerificationError } from '../image/errors.js';
import { assertionHeaders, headerMismatch, sha3Base64Url, type AssertionHeaders } from './assertion.js';
import { SERIES, type StoreSnap } from './store-api.js';
import type { SnapStore } from './store-client.js';

/** The account and key every snapd trusts without being told (asserts/sysdb/trusted.go). */
export const BUILT_IN = {
  accounts: new Set(['canonical']),
  keys: new Set(['-CvQKAwRQ5h3Ffn10FILJoEZUXOv6km9FwA80-Rcj-f-6jadQ89VRswHNiEB9Lxk']),
} as const;

export const snapFileName = (snap: Pick<StoreSnap, 'name' | 'revision'>): string => `${snap.name}_${snap.revision}.snap`;

/**
 * The snap-revision of the file whose SHA3-384 is `digestHex`, checked against what the store's
 * answer said of the snap. A VerificationError when the store vouches for no such file.
 */
export async function snapRevisionFor(store: SnapStore, snap: StoreSnap, digestHex: string): Promise<string> {
  const file = snapFileName(snap);
  const key = sha3Base64Url(digestHex);
  const text = await store.assertion('snap-revision', [key]);
  if (text === undefined)
    throw new VerificationError(file, `the store has no snap-revision assertion for its SHA3-384 (${key}): it is not a file the store `
      + 'published; it was removed. Run the command again to download it afresh');
  const mismatch = headerMismatch(assertionHeaders(text), {
    type: 'snap-revision', 'snap-sha3-384': key, 'snap-id': snap.snapId, 'snap-revision': String(snap.revision), 'snap-size': String(snap.download.size),
  });
  if (mismatch)
    throw new VerificationError(file, `its snap-revision assertion does not vouch for it: ${mismatch}; the file was removed. `
      + 'Run the command again; if it says the same, the store is inconsistent: try later');
  return text;
}

/**
 * account-keys, accounts, snap-declaration, snap-revision: prerequisites before what rests on
 * them, the order `snap download` writes them in (without the built-in ones).
 */
export async function snapAssertions(store: SnapStore, snap: StoreSnap, snapRevision: string): Promise<string[]> {
  const revision = assertionHeaders(snapRevision);
  const declaration = await required(store, snap, 'snap-declaration', [SERIES, snap.snapId],
    { type: 'snap-declaration', series: SERIES, 'snap-id': snap.snapId, 'snap-name': snap.name });
  const declared = assertionHeaders(declaration);
  const accountIds = unique([revision.get('developer-id'), declared.get('publisher-id')]).filter((id) => !BUILT_IN.accounts.has(id));
  const accounts = await Promise.all(accountIds.map((id) => required(store, snap, 'account', [id], { type: 'account', 'account-id': id })));
  const signed: AssertionHeaders[] = [revision, declared, ...accounts.map(assertionHeaders)];
  const keyIds = unique(signed.map((h) => h.get('sign-key-sha3-384'))).filter((id) => !BUILT_IN.keys.has(id));
  const keys = await Promise.all(keyIds.map((id) => required(store, snap, 'account-key', [id], { type: 'account-key', 'public-key-sha3-384': id })));
  // A key speaks only for its own account: each assertion's authority must own the key that signed it.
  const owner = new Map(keys.map((k) => assertionHeaders(k)).map((h) => [h.get('public-key-sha3-384'), h.get('account-id')]));
  for (const h of signed) {
    if (BUILT_IN.keys.has(h.get('sign-key-sha3-384') ?? '')) continue; // the root key: only canonical's, and snapd checks it
    if (owner.get(h.get('sign-key-sha3-384')) !== h.get('authority-id'))
      throw new VerificationError(snapFileName(snap), `its ${h.get('type')} assertion is signed by authority ${h.get('authority-id') ?? '(none)'} `
        + `with key ${h.get('sign-key-sha3-384') ?? '(none)'}, which belongs to ${owner.get(h.get('sign-key-sha3-384')) ?? 'no account'}; `
        + 'nothing was written. Run the command again later');
  }
  return [...keys, ...accounts, declaration, snapRevision];
}

const unique = (values: readonly (string | undefined)[]): string[] => [...new Set(values.filter((v): v is string => !!v))];

async function required(store: SnapStore, snap: StoreSnap, type: Parameters<SnapStore['assertion']>[0], key: readonly string[],
  want: Readonly<Record<string, string>>): Promise<string> {
  const where = `${store.address}/v2/assertions/${type}/${key.join('/')}`;
  const text = await store.assertion(type, key);
  if (text === undefined) throw new DownloadError(where, `the store has no ${type} assertion for ${snap.name}`);
  const mismatch = headerMismatch(assertionHeaders(text), want);
  if (mismatch) throw new VerificationError(where, `the ${type} assertion for ${snap.name} is not the one asked for: ${mismatch}; nothing was written`);
  return text;
}
