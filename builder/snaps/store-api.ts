// The Snap Store's HTTP API as snapd's own client speaks it: the requests we send and the answers
// we take, with no I/O. Shapes from canonical/snapd:
//   store/store_action.go  snapActionJSON, snapActionRequest (POST v2/snaps/refresh: "context",
//                          "actions" with "instance-key" "download-N", "fields"; "epoch": null on
//                          a download action, which tells the store the client handles epochs),
//                          snapActionResult / snapActionResultList (results[].result, .snap,
//                          .error {code, message, extra.releases}; "error-list")
//   store/details_v2.go    storeSnap, storeSnapDownload (name, snap-id, revision, version, base,
//                          type, download {url, size, sha3-384 in hex})
//   store/store.go         newRequest: Snap-Device-Architecture, Snap-Device-Series, Snap-Classic
//                          on v2 endpoints; snapActionEndpPath "v2/snaps/refresh"
//   store/store_asserts.go Assertion: GET v2/assertions/TYPE/KEY... ?max-format=N with
//                          Accept application/x.ubuntu.assertion; errors as {"error-list": [...]}

export const SERIES = '16';
export const ASSERTION_MEDIA_TYPE = 'application/x.ubuntu.assertion';

/** The fields we ask the store for (snapd sends the fields of storeSnap it decodes). */
export const SNAP_FIELDS = ['base', 'download', 'name', 'revision', 'snap-id', 'type', 'version'] as const;

/**
 * The newest assertion formats snapd knows (asserts/asserts.go, maxSupportedFormat): the store
 * answers with the newest revision of an assertion whose format is at most this.
 */
export const MAX_FORMAT: Readonly<Record<AssertionType, number>> = {
  'snap-revision': 0, 'snap-declaration': 6, account: 0, 'account-key': 1,
};
export type AssertionType = 'snap-revision' | 'snap-declaration' | 'account' | 'account-key';

export interface Wanted { readonly name: string; readonly channel: string }

export interface StoreSnap {
  readonly name: string;
  readonly snapId: string;
  readonly revision: number;
  readonly version: string;
  /** The base the store names; '' for snapd and the bases themselves. */
  readonly base: string;
  readonly type: string;
  readonly download: { readonly url: string; readonly size: number; readonly sha3_384: string };
}

export interface StoreRefusal {
  readonly name: string;
  readonly channel: string;
  readonly code: string;
  readonly message: string;
  /** Channels the store has the snap in for this architecture, when it says. */
  readonly releases: readonly string[];
}

export type RefreshAnswer = { readonly found: readonly StoreSnap[]; readonly refused: readonly StoreRefusal[]; readonly other: readonly string[] };

export function refreshHeaders(arch: string, userAgent: string): Record<string, string> {
  return {
    'Snap-Device-Architecture': arch,
    'Snap-Device-Series': SERIES,
    // The Pis run classic Ubuntu Server, which is what the store should answer for.
    'Snap-Classic': 'true',
    'Content-Type': 'application/json',
    Accept: 'application/json',
    'User-Agent': userAgent,
  };
}

/** The body of POST v2/snaps/refresh for downloads of `wanted`: instance keys download-1, download-2, ... */
export function refreshBody(wanted: readonly Wanted[]): string {
  return JSON.stringify({
    context: [],
    actions: wanted.map((w, i) => ({ action: 'download', 'instance-key': `download-${i + 1}`, name: w.name, channel: w.channel, epoch: null })),
    fields: SNAP_FIELDS,
  });
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const record = (value: unknown): Record<string, unknown> =>
  (value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : {});

/** What the store said about each of `wanted` (matched by instance key, as snapd does); throws on a malformed answer. */
export function parseRefreshAnswer(wanted: readonly Wanted[], json: unknown): RefreshAnswer {
  const answer = record(json);
  const results = Array.isArray(answer.results) ? answer.results.map(record) : [];
  const found: StoreSnap[] = [];
  const refused: StoreRefusal[] = [];
  const other: string[] = [];
  for (const result of results) {
    const key = /^download-(\d+)$/.exec(text(result['instance-key']));
    const asked = key ? wanted[Number(key[1]) - 1] : undefined;
    if (!asked) {
      other.push(`an answer for instance key "${text(result['instance-key'])}", which was not asked for`);
      continue;
    }
    if (result.result === 'error') {
      const error = record(result.error);
      const releases = (Array.isArray(record(error.extra).releases) ? record(error.extra).releases as unknown[] : [])
        .map((r) => text(record(r).channel)).filter(Boolean);
      refused.push({ ...asked, code: text(error.code) || 'error', message: text(error.message) || 'no reason given', releases });
      continue;
    }
    found.push(storeSnap(asked, record(result.snap)));
  }
  for (const error of Array.isArray(answer['error-list']) ? answer['error-list'].map(record) : [])
    other.push(`${text(error.code)}: ${text(error.message)}`);
  const answered = new Set([...found, ...refused].map((s) => s.name));
  for (const w of wanted) if (!answered.has(w.name)) other.push(`no answer for ${w.name}`);
  return { found, refused, other };
}

function storeSnap(asked: Wanted, snap: Record<string, unknown>): StoreSnap {
  const download = record(snap.download);
  const parsed: StoreSnap = {
    name: text(snap.name), snapId: text(snap['snap-id']), revision: Number(snap.revision), version: text(snap.version),
    base: text(snap.base), type: text(snap.type),
    download: { url: text(download.url), size: Number(download.size), sha3_384: text(download['sha3-384']).toLowerCase() },
  };
  const problem = parsed.name !== asked.name ? `it names the snap "${parsed.name}"`
    : !parsed.snapId ? 'it has no snap-id'
      : !(Number.isInteger(parsed.revision) && parsed.revision >= 1) ? `its revision is ${String(snap.revision)}`
        : !/^[0-9a-f]{96}$/.test(parsed.download.sha3_384) ? 'its download has no SHA3-384'
          : !(Number.isSafeInteger(parsed.download.size) && parsed.download.size > 0) ? 'its download has no size'
            : !/^https?:\/\//.test(parsed.download.url) ? 'its download has no http(s) URL' : undefined;
  if (problem) throw new Error(`the store's answer for ${asked.name} is malformed: ${problem}`);
  return parsed;
}

/**
 * The snap `snap` needs installed first (snapd's prerequisite step, overlord/snapstate/
 * handlers_prereq.go, fetches it from the store when missing): its base, as the store's answer
 * names it; an app that names none runs on "core", the base of snaps from before bases. snapd
 * itself and the bases name none and need none.
 */
export function baseNeeded(snap: StoreSnap): string | undefined {
  if (snap.base) return snap.base;
  return snap.type === 'app' ? 'core' : undefined;
}

/** GET v2/assertions/TYPE/KEY... as snapd's store client builds it. */
export function assertionPath(type: AssertionType, primaryKey: readonly string[]): string {
  return `/v2/assertions/${type}/${primaryKey.map(encodeURIComponent).join('/')}?max-format=${MAX_FORMAT[type]}`;
}

/** A store error body ({"error-list": [{code, message}]}) in words, or the start of the text. */
export function storeErrorText(body: string): string {
  try {
    const first = record((record(JSON.parse(body))['error-list'] as unknown[] | undefined)?.[0]);
    if (text(first.message)) return `${text(first.code) || 'error'}: ${text(first.message)}`;
  } catch { /* not JSON */ }
  return body.split('\n')[0]!.replace(/[^\x20-\x7e]/g, '?').slice(0, 200) || 'no reason given';
}
