// Which machine a MicroCloud member is: its server certificate. An add session's passphrase is
// shared by every machine of the batch, and MicroCloud's initiator takes a joiner by its name
// alone (cmd/microcloud/ask.go askJoinIntents: `joinIntents[session.Intent.Name] = session.Intent`,
// a map keyed by name, so a later intent under the same name replaces the first; nothing in the
// preseed pins an address or a certificate: cmd/microcloud/preseed.go System). A batch-mate could
// therefore join a second machine in another newcomer's place. A joiner says in its signed request
// which certificate it will join with, and the member checks every new member against that
// after the session (`microcloud cluster list --format json` prints each member's `certificate`:
// microcluster types.ClusterMemberLocal). Pure, but for where the file lives.

import { createHash } from 'node:crypto';

/**
 * The daemon's own certificate: microcloudd runs with --state-dir $SNAP_COMMON/state
 * (snapcraft/commands/daemon.start) and makes server.crt there on its first start if there is
 * none (microcluster internal/sys/os.go ServerCert; lxd shared/cert.go KeyPairAndCA). It is what
 * the daemon sends in its join intent (api/session.go handleJoiningSession: Certificate) and
 * what the cluster keeps for the member.
 */
export const MICROCLOUD_SERVER_CERT = '/var/snap/microcloud/common/state/server.crt';

const PEM = /-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----/;

/** SHA-256 of the certificate's DER, in hex: what `microcloud cluster list` shows as FINGERPRINT (lxd shared.CertFingerprintStr). */
export function certFingerprint(pem: string | undefined): string | undefined {
  const body = pem === undefined ? undefined : PEM.exec(pem)?.[1];
  if (!body) return undefined;
  const der = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  return der.length ? createHash('sha256').update(der).digest('hex') : undefined;
}

export const isFingerprint = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
