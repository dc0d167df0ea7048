// Fetching a snap bundle onto a node: bundle.json, then each entry's .assert and .snap, each from
// the first source in sourceOrder (bundle-sources.ts: peers that have the bundle, rotated by this
// node's place and the file's index, the operator's computer last) that gives it whole and
// right. Each node walks the files from its own place on, so fifty nodes hold different files
// and trade them. Only sources that say they have a file (whole or arriving: the have-lists on
// their bundle.json answer, asked of a few at a time) are asked for it: peers that have it whole
// first, then the peer that gave the last .snap (it has most likely started this one since: the
// chain it forms stays), then peers that have it arriving, the operator's computer last. While a
// .snap streams in, this node's own server passes its bytes on (files-in-flight.ts). A source
// sends to a few nodes at once and says busy past that (bundle-server.ts): a round in which every
// file still missing had a busy source is repeated after about half a second, not counted as
// failed. A .assert must vouch for exactly bundle.json's file (snap-file-check.ts); a .snap is
// hashed (SHA3-384) as it streams in and must have the digest its .assert vouches for, before
// anything reaches snapd. A source that fails, stalls, answers busy or sends a bad file is
// dropped for that file and the next is tried; a .snap cut off mid-way continues from its
// partial file with a Range request to the next source (the same name is the same bytes: a
// store revision never changes). A bad file is deleted, never kept under a name a later run
// would trust. What no source gave is tried again after a pause, a few rounds, then the step
// fails temporarily (systemd restarts the service; everything checked so far is kept).
import { createHash } from 'node:crypto';
import type { NodeConfig } from '../../builder/render/node-config.js';
import { TemporaryFailure, type ArrivingFiles, type BundleDisk, type Clock, type Logger } from '../run/types.js';
import { BUNDLE_FILE, BundleFormatError, MAX_BUNDLE_FILE_BYTES, channelProblems, parseBundleManifest, type BundleManifest, type BundleSnap } from './bundle-manifest.js';
import { ARRIVING_HEADER, HAVE_HEADER, manifestTag } from './bundle-server.js';
import { bundleSources, nodeIndexOf, sourceOrder, type BundleSource } from './bundle-sources.js';
import { fetchHead, fetchSmall, fetchStream, type From, type Refused, type TransferLimits } from './bundle-transfer.js';
import { assertProblem, vouchedDigest } from './snap-file-check.js';

/** Where each source serves the bundle: GET /bundle/bundle.json, GET /bundle/NAME_REV.snap (build-image serve, and every node). */
export const bundlePath = (file: string): string => `/bundle/${file}`;

export interface FetchOptions extends TransferLimits {
  /** Rounds over every source before the step gives up for this start, and the pause between them. */
  readonly rounds: number;
  readonly pauseMs: number;
  /** After a round where only busy sources stood between this node and a file: the pause (jittered, half to one and a half times). */
  readonly busyPauseMs: number;
  /** How long rounds of busy sources may go on before the step gives up for this start. */
  readonly busyLimitMs: number;
}

export const FETCH_DEFAULTS: FetchOptions = { idleMs: 30_000, rounds: 5, pauseMs: 30_000, busyPauseMs: 500, busyLimitMs: 30 * 60_000 };

export interface FetchContext {
  readonly config: Pick<NodeConfig, 'node' | 'address' | 'peers' | 'snapSource' | 'snaps'>;
  readonly log: Logger;
  readonly clock: Clock;
  report(detail: string, state?: 'running' | 'waiting'): void;
}

const MAX_ASSERT_BYTES = 1024 * 1024;
/** Peers asked what they have each time (askAround). */
const ASK_AROUND = 8;
const CLUSTER_SNAPS = ['lxd', 'microceph', 'microovn', 'microcloud'] as const;

/** The checked bundle, or why it is not one: bundle.json as the format allows, with the cluster's snaps at node.json's channels. */
function usableBundle(text: string, channels: Readonly<Record<string, string>>): { bundle: BundleManifest } | { refused: string } {
  let bundle: BundleManifest;
  try {
    bundle = parseBundleManifest(text);
  } catch (error) {
    if (error instanceof BundleFormatError) return { refused: `${BUNDLE_FILE}: ${error.message}` };
    throw error;
  }
  const mismatch = channelProblems(bundle, channels);
  return mismatch.length ? { refused: mismatch.join('; ') } : { bundle };
}

/** What a source said about a file it was asked for (for the log and the step's error). */
type Outcome = { ok: true } | Refused;
/** A file no source gave this round, and whether one of them had it but was busy. */
interface Gap { readonly what: string; readonly busy: boolean }
/** What a source said it can send now, whole or arriving; whole 'all' when it did not say (a source of an earlier version). */
interface Have { readonly whole: ReadonlySet<string> | 'all'; readonly arriving: ReadonlySet<string> }

const names = (listed: string | undefined): Set<string> => new Set((listed ?? '').split(' ').filter(Boolean));
/**
 * The files in an order of this node's own: from the file at its place on. Fifty nodes that all
 * wanted the same next file would have only the operator's computer to take it from; starting at
 * different files, each has something its peers lack, and they trade.
 */
const rotated = <T>(items: readonly T[], place: number): T[] => {
  const start = items.length ? place % items.length : 0;
  return [...items.slice(start), ...items.slice(0, start)];
};

const haveOf = (headers: Record<string, string>): Have =>
  ({ whole: headers[HAVE_HEADER] === undefined ? 'all' : names(headers[HAVE_HEADER]), arriving: names(headers[ARRIVING_HEADER]) });

export class BundleFetch {
  private readonly sources: BundleSource[];
  private readonly nodeIndex: number;
  private readonly from: From;
  /** Sources that answered with a bundle.json this round (the same as this node's): the only ones asked for files. */
  private holders: BundleSource[] = [];
  /** What each holder said it has, this round. */
  private haves = new Map<BundleSource, Have>();
  /** The source the last .snap came from, asked first for the next. */
  private lastSnapSource: BundleSource | undefined;
  /** When the holders were last asked. */
  private learnedAt = 0;
  private asked = 0;
  /** .snap files checked in this fetch (on disk, with their digest): a round does not hash them again. */
  private readonly checked = new Set<string>();
  /** The bundle.json kept on disk for this fetch, and its ETag the holders must give: read from disk once, not every round. */
  private listing: { bundle: BundleManifest; tag: string } | undefined;
  private readonly inFlight: ArrivingFiles | undefined;

  /**
   * `local`: sources on this node itself (a USB stick's folder served to itself), asked before the
   * network. `inFlight`: where this node's own server learns the .snap files arriving, to pass them on.
   */
  constructor(private readonly ctx: FetchContext, private readonly disk: BundleDisk, private readonly options: FetchOptions = FETCH_DEFAULTS,
    local: readonly BundleSource[] = [], inFlight?: ArrivingFiles) {
    this.inFlight = inFlight;
    this.sources = [...local, ...bundleSources(ctx.config)];
    this.nodeIndex = nodeIndexOf(ctx.config);
    this.from = { address: ctx.config.address };
  }

  private get channels(): Record<string, string> {
    return Object.fromEntries(CLUSTER_SNAPS.map((name) => [name, this.ctx.config.snaps[name]]));
  }

  /** Every file of the bundle on this node's disk, checked; the bundle. */
  async fetchAll(): Promise<BundleManifest> {
    try {
      return await this.rounds();
    } finally {
      for (const name of this.inFlight?.names() ?? []) this.inFlight?.drop(name); // what did not arrive is not passed on
    }
  }

  private async rounds(): Promise<BundleManifest> {
    let failed = 0;
    let busySince: number | undefined;
    for (;;) {
      const bundle = await this.manifest();
      const before = this.checked.size;
      const gaps: Gap[] = [];
      if (!bundle) gaps.push({ what: `no source gave a usable ${BUNDLE_FILE}`, busy: false });
      else for (const [index, entry] of rotated([...bundle.snaps.entries()], this.nodeIndex)) {
        // A .snap takes seconds: who has what has changed since (a peer started the next file, one finished it).
        if (this.ctx.clock.now() - this.learnedAt > this.options.busyPauseMs) await this.askAround();
        const gap = await this.entry(entry, index);
        if (gap) gaps.push(gap);
      }
      if (bundle && !gaps.length) return bundle;
      const missing = gaps.map((g) => g.what).join('; ');
      if (this.checked.size > before) busySince = undefined; // files still arrive: busy sources are a queue, not a fault
      if (gaps.every((g) => g.busy)) {
        busySince ??= this.ctx.clock.now();
        if (this.ctx.clock.now() - busySince > this.options.busyLimitMs)
          throw new TemporaryFailure(`the snap bundle is incomplete: its sources stayed busy for ${Math.round(this.options.busyLimitMs / 60_000)} minutes: ${missing}`);
        this.ctx.report(`waiting for a free source of the snap bundle (${missing})`, 'waiting');
        await this.ctx.clock.sleep(Math.round(this.options.busyPauseMs * (0.5 + Math.random())));
        continue;
      }
      busySince = undefined;
      if (++failed >= this.options.rounds)
        throw new TemporaryFailure(`the snap bundle is incomplete after ${this.options.rounds} rounds over its sources: ${missing}`);
      this.ctx.report(`waiting for a source of the snap bundle (${missing})`, 'waiting');
      await this.ctx.clock.sleep(this.options.pauseMs);
    }
  }

  /**
   * bundle.json: the one kept from an earlier start or round (the same set after a power cut),
   * else the first in source order that parses and matches node.json's channels (peers first: a
   * node added months later installs the revisions the members run). Also learns which sources
   * hold this bundle and what each has: with a kept one, from a HEAD (its ETag and have-list).
   */
  private async manifest(): Promise<BundleManifest | undefined> {
    const listing = this.listing ??= await this.keptManifest();
    if (listing) {
      await this.askAround(); // may find the listing stale and drop it: this round still walks it, the next takes theirs
      return listing.bundle;
    }
    const answers = await Promise.all(this.sources.map(async (source) =>
      ({ source, got: await fetchSmall(source, bundlePath(BUNDLE_FILE), MAX_BUNDLE_FILE_BYTES, this.from, this.options) })));
    const parsed = new Map<BundleSource, { bundle: BundleManifest; text: string; headers: Record<string, string> }>();
    for (const { source, got } of answers) {
      if (!got.ok) continue;
      const result = usableBundle(got.body, this.channels);
      if ('refused' in result) this.ctx.log.warn(`bundle: ${source.name} (${source.address}): ${result.refused}; not used`);
      else parsed.set(source, { bundle: result.bundle, text: got.body, headers: got.headers });
    }
    // Which revisions: the peers' first (what the members run), then a stick's, then the server's.
    const order = sourceOrder([...parsed.keys()], this.nodeIndex, 0);
    const first = [...order.filter((s) => s.kind === 'peer'), ...order.filter((s) => s.kind !== 'peer')].map((s) => parsed.get(s)!)[0];
    if (!first) {
      this.learn([]);
      return undefined;
    }
    this.learn([...parsed].filter(([, p]) => p.text === first.text).map(([source, p]) => ({ source, headers: p.headers })));
    await this.disk.writeWhole(BUNDLE_FILE, first.text);
    this.listing = { bundle: first.bundle, tag: manifestTag(first.text) };
    return first.bundle;
  }

  private async keptManifest(): Promise<{ bundle: BundleManifest; tag: string } | undefined> {
    const text = await this.disk.readText(BUNDLE_FILE);
    if (text === undefined) return undefined;
    const result = usableBundle(text, this.channels);
    if ('bundle' in result) return { bundle: result.bundle, tag: manifestTag(text) };
    this.ctx.log.warn(`bundle: the ${BUNDLE_FILE} kept on disk is unusable (${result.refused}); taking it afresh`);
    await this.disk.remove(BUNDLE_FILE);
    return undefined;
  }

  /**
   * Which sources hold the kept bundle.json (its ETag) and what each has: a HEAD of a few. Not of
   * every peer: fifty nodes asking fifty would be 2,500 requests a round. A stick, the source of
   * the last .snap, ASK_AROUND peers (a different few each time, from this node's place on) and the
   * operator's computer; holders multiply as the bundle spreads, so a few are enough to find one.
   */
  private async askAround(): Promise<void> {
    const tag = this.listing?.tag;
    if (tag === undefined) return;
    const peers = this.sources.filter((s) => s.kind === 'peer');
    const few = peers.length <= ASK_AROUND ? peers
      : Array.from({ length: ASK_AROUND }, (_, i) => peers[(this.nodeIndex + this.asked * ASK_AROUND + i) % peers.length]!);
    this.asked++;
    const asked = [...new Set([...this.sources.filter((s) => s.kind === 'stick'), ...(this.lastSnapSource ? [this.lastSnapSource] : []), ...few,
      ...this.sources.filter((s) => s.kind === 'server')])];
    const answers = await Promise.all(asked.map(async (source) =>
      ({ source, got: await fetchHead(source, bundlePath(BUNDLE_FILE), this.from, this.options) })));
    // A source that gives no ETag (an earlier version) is taken as holding it: its files are checked as any.
    const holders = answers.flatMap(({ source, got }) => (got.ok && (got.headers.etag ?? tag) === tag ? [{ source, headers: got.headers }] : []));
    this.learn(holders);
    if (!holders.length && answers.some(({ got }) => got.ok)) {
      // Every source that answers holds another listing (the bundle was made again since this node kept its own): take theirs next round.
      this.ctx.log.warn(`bundle: no source holds the ${BUNDLE_FILE} kept here any more; taking a new one`);
      await this.disk.remove(BUNDLE_FILE);
      this.listing = undefined;
    }
  }

  private learn(holders: readonly { source: BundleSource; headers: Record<string, string> }[]): void {
    this.learnedAt = this.ctx.clock.now();
    this.holders = holders.map((h) => h.source);
    this.haves = new Map(holders.map((h) => [h.source, haveOf(h.headers)]));
  }

  /**
   * Who to ask for `file`, each in sourceOrder: a stick in this node, the peers that have it whole,
   * the peer the last .snap came from (it has most likely started this one since), the peers that
   * have it arriving, then the operator's computer.
   */
  private askFor(file: string, index: number): BundleSource[] {
    const whole = (s: BundleSource) => { const h = this.haves.get(s)!.whole; return h === 'all' || h.has(file); };
    const arriving = (s: BundleSource) => this.haves.get(s)!.arriving.has(file);
    const order = sourceOrder(this.holders.filter((s) => whole(s) || arriving(s)), this.nodeIndex, index);
    const last = this.lastSnapSource?.kind === 'peer' && this.holders.includes(this.lastSnapSource) ? [this.lastSnapSource] : [];
    const peers = order.filter((s) => s.kind === 'peer');
    return [...new Set([...order.filter((s) => s.kind === 'stick'), ...peers.filter(whole), ...last, ...peers.filter(arriving),
      ...order.filter((s) => s.kind === 'server')])];
  }

  /** The entry's .assert, then its .snap, each checked on disk; undefined when both are there, else what is missing. */
  private async entry(entry: BundleSnap, index: number): Promise<Gap | undefined> {
    const assertion = await this.kept(entry.assert, (text) => assertProblem(entry, text))
      ?? await this.firstThatGives(entry.assert, this.askFor(entry.assert, index), (source) => this.fetchAssert(entry, source));
    if (assertion !== true) return assertion;
    const snap = await this.keptSnap(entry)
      ?? await this.firstThatGives(entry.file, this.askFor(entry.file, index), (source) => this.fetchSnap(entry, source));
    return snap === true ? undefined : snap;
  }

  private async firstThatGives(file: string, order: readonly BundleSource[], attempt: (s: BundleSource) => Promise<Outcome>): Promise<true | Gap> {
    if (!order.length) return { what: `${file}: no source has it`, busy: false };
    const refusals: string[] = [];
    let busy = false;
    for (const source of order) {
      this.ctx.report(`fetching ${file} from ${source.name} (${source.address})`);
      const outcome = await attempt(source);
      if (outcome.ok) {
        this.ctx.log.info(`bundle: ${file} from ${source.name} (${source.address}), checked`);
        return true;
      }
      busy ||= outcome.busy === true;
      // Busy is a source at work, not a fault: not worth a warning each round.
      if (!outcome.busy) this.ctx.log.warn(`bundle: ${file} from ${source.name} (${source.address}): ${outcome.why}; trying the next source`);
      refusals.push(`${source.name}: ${outcome.why}`);
    }
    return { what: `${file} (${refusals.join(', ')})`, busy };
  }

  /** true when a checked copy of `name` is on disk from an earlier start; a copy that fails its check is deleted. */
  private async kept(name: string, problem: (text: string) => string | undefined): Promise<true | undefined> {
    const text = await this.disk.readText(name);
    if (text === undefined) return undefined;
    if (!problem(text)) return true;
    await this.disk.remove(name);
    return undefined;
  }

  private async fetchAssert(entry: BundleSnap, source: BundleSource): Promise<Outcome> {
    const got = await fetchSmall(source, bundlePath(entry.assert), MAX_ASSERT_BYTES, this.from, this.options);
    if (!got.ok) return got;
    const problem = assertProblem(entry, got.body);
    if (problem) return { ok: false, why: problem };
    await this.disk.writeWhole(entry.assert, got.body);
    return { ok: true };
  }

  /** A .snap renamed into place earlier was checked then; it is hashed again (a card can rot, and snapd must only get right bytes). */
  private async keptSnap(entry: BundleSnap): Promise<true | undefined> {
    if (this.checked.has(entry.file)) return true; // checked in this fetch: not hashed again every round
    if ((await this.disk.size(entry.file)) !== entry.size) {
      await this.disk.remove(entry.file);
      return undefined;
    }
    if ((await this.disk.hashOf(entry.file, 'sha3-384')).digest('hex') === await this.expectedDigest(entry)) {
      this.checked.add(entry.file);
      return true;
    }
    this.ctx.log.warn(`bundle: ${entry.file} on disk no longer has the SHA3-384 its assertion vouches for; deleted, fetching it again`);
    await this.disk.remove(entry.file);
    return undefined;
  }

  private async expectedDigest(entry: BundleSnap): Promise<string | undefined> {
    return vouchedDigest((await this.disk.readText(entry.assert)) ?? '');
  }

  private async fetchSnap(entry: BundleSnap, source: BundleSource): Promise<Outcome> {
    const partial = `${entry.file}.partial`;
    const expected = await this.expectedDigest(entry);
    if (!expected) return { ok: false, why: `${entry.assert} is missing` };
    let have = (await this.disk.size(partial)) ?? 0;
    let hash = createHash('sha3-384');
    if (have >= entry.size) {
      // Whole already: a power cut between its last byte and the rename. Asking for bytes from its end gets 416 from every
      // source, for good: it is checked as it is, and renamed into place or fetched afresh.
      if (have === entry.size && (await this.disk.hashOf(partial, 'sha3-384')).digest('hex') === expected) {
        await this.disk.rename(partial, entry.file);
        this.inFlight?.done(entry.file);
        this.checked.add(entry.file);
        return { ok: true };
      }
      this.inFlight?.drop(entry.file);
      await this.disk.remove(partial);
      have = 0;
    }
    let writer: Awaited<ReturnType<BundleDisk['writer']>> | undefined;
    let written = have;
    const transfer = await fetchStream(source, bundlePath(entry.file), have, entry.size, `"${expected}"`, this.from, this.options, {
      start: async (resumed, etag) => {
        if (etag !== undefined && !etagNames(etag, expected)) return false;
        // Hashed only once a source sends: a busy answer costs no read of the partial file.
        if (resumed) hash = await this.disk.hashOf(partial, 'sha3-384');
        writer = await this.disk.writer(partial, !resumed);
        written = resumed ? have : 0;
        this.inFlight?.start(entry.file, entry.size, written, !resumed);
        return true;
      },
      chunk: async (bytes) => {
        hash.update(bytes);
        await writer!.write(bytes);
        written += bytes.length;
        this.inFlight?.grew(entry.file, written);
      },
    }).finally(() => writer?.close());
    if (!transfer.ok) {
      // The partial file stays (the next source continues it), but it is not offered to peers while nothing arrives.
      this.inFlight?.drop(entry.file);
      return transfer;
    }
    const actual = hash.digest('hex');
    if (actual !== expected) {
      this.inFlight?.drop(entry.file);
      await this.disk.remove(partial);
      return { ok: false, why: `its SHA3-384 ${actual.slice(0, 16)}... is not the ${expected.slice(0, 16)}... its assertion vouches for; deleted` };
    }
    await this.disk.rename(partial, entry.file);
    this.inFlight?.done(entry.file);
    this.checked.add(entry.file);
    this.lastSnapSource = source;
    return { ok: true };
  }
}

/**
 * False only when the ETag is a SHA3-384 (hex or base64url, quoted, weak or not) of another file:
 * resuming from such a source would splice two files. An ETag of another form says nothing.
 */
function etagNames(etag: string, digestHex: string): boolean {
  const value = etag.replace(/^W\//, '').replace(/^"|"$/g, '');
  if (/^[0-9a-fA-F]{96}$/.test(value)) return value.toLowerCase() === digestHex;
  if (/^[A-Za-z0-9_-]{64}$/.test(value)) return value === Buffer.from(digestHex, 'hex').toString('base64url');
  return true;
}
