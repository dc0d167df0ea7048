// Snap assertions as text: the headers we read from one, the key the store files a snap-revision
// under, and the stream `snap download` writes. Pure.
//
// The format (canonical/snapd asserts/asserts.go, Decode and Encoder): "name: value" header
// lines (a multi-line value continues on lines indented by four spaces), a blank line, the body
// when a `body-length` header says there is one, a blank line, then the signature. This module
// reads headers only: the signature is checked by snapd on the Pi when `snap ack` adds the file
// (it chains up to the root key built into snapd), which cannot happen here.

export type AssertionHeaders = ReadonlyMap<string, string>;

/** The single-line headers of one assertion (multi-line values such as lists are left out). */
export function assertionHeaders(text: string): AssertionHeaders {
  const end = text.indexOf('\n\n');
  const head = end === -1 ? text : text.slice(0, end);
  const headers = new Map<string, string>();
  for (const line of head.split('\n')) {
    const match = /^([a-z][a-z0-9-]*):(?: (.*))?$/.exec(line);
    if (match && match[2] !== undefined) headers.set(match[1]!, match[2]);
  }
  return headers;
}

/**
 * The primary key of a snap-revision assertion: the file's SHA3-384 digest, base64url without
 * padding (snapd asserts/snap_asserts.go SnapFileSHA3_384 and EncodeDigest), from the hex
 * digest the store's refresh answer and node:crypto give.
 */
export const sha3Base64Url = (hex: string): string => Buffer.from(hex, 'hex').toString('base64url');

/**
 * Assertions as one stream, as `snap download` writes NAME_REV.assert: each ends with a newline,
 * and a blank line separates one from the next (snapd asserts/asserts.go Encoder.WriteEncoded).
 */
export function assertionStream(assertions: readonly string[]): string {
  return assertions.map((a) => (a.endsWith('\n') ? a : `${a}\n`)).join('\n');
}

/** What must hold of an assertion's headers; the first mismatch in words, or undefined. */
export function headerMismatch(headers: AssertionHeaders, want: Readonly<Record<string, string>>): string | undefined {
  for (const [name, value] of Object.entries(want)) {
    const have = headers.get(name);
    if (have !== value) return `its ${name} is ${have === undefined ? 'missing' : `"${have}"`}, not "${value}"`;
  }
  return undefined;
}
