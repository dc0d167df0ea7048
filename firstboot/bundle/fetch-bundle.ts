// Fetching a snap bundle onto a node: bundle.json, then each entry's .assert and .snap, each from
// the first source in sourceOrder (bundle-sources.ts: peers that have the bundle, rotated by this
// node's place and the file's index, the operator's computer last) that gives it whole and
// right. A .assert must vouch for exactly bundle.json's file (snap-file-check.ts); a .snap is
// hashed (SHA3-384) as it streams in and must have the digest its .assert vouches for, before
// anything reaches snapd. A source that fails, stalls, answers busy or sends a bad file is
// dropped for that file and the next is tried; a .snap cut off mid-way continues from its
// partial file with a Range request to the next source (the same name is the same bytes: a
// store revision never changes). A bad file is deleted, never kept under a name a later run
// would trust. What no source gave is tried again after a pause, a few rounds, then the step
// fails temporarily (systemd restarts the service; everything checked so far is kept).
import { createHash } from 'node:crypto';
import type { NodeConfig } from '../../builder/render/node-config.js';
import { TemporaryFailure, type BundleDisk, type Clock, type Logger } from '../run/types.js';
import { BUNDLE_FILE, BundleFormatError, MAX_BUNDLE_FILE_BYTES, channelProblems, parseBundleManifest, type BundleManifest, type BundleSnap } from './bundle-manifest.js';
import { bundleSources, nodeIndexOf, sourceOrder, type BundleSource } from './bundle-sources.js';
import { fetchSmall, fetchStream, type From, type TransferLimits } from './bundle-transfer.js';
import { assertProblem, vouchedDigest } from './snap-file-check.js';

/** Where each source serves the bundle: GET /bundle/bundle.json, GET /bundle/NAME_REV.snap (build-image serve, and every node). */
export const bundlePath = (file: string): string => `/bundle/${file}`;

export interface FetchOptions extends TransferLimits {
  /** Rounds over every source before the step gives up for this start, and the pause between them. */
  readonly rounds: number;
  readonly pauseMs: number;
}

export const FETCH_DEFAULTS: FetchOptions = { idleMs: 30_000, rounds: 5, pauseMs: 30_000 };

export interface FetchContext {
  readonly config: Pick<NodeConfig, 'node' | 'address' | 'peers' | 'snapSource' | 'snaps'>;
  readonly log: Logger;
  readonly clock: Clock;
  report(detail: string, state?: 'running' | 'waiting'): void;
}

const MAX_ASSERT_BYTES = 1024 * 1024;
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
type Outcome = { ok: true } | { ok: false; why: string };

export class BundleFetch {
  private readonly sources: BundleSource[];
  private readonly nodeIndex: number;
  private readonly from: From;
  /** Sources that answered with a bundle.json this round: the only ones asked for files. */
  private holders: BundleSource[] = [];

  /** `local`: sources on this node itself (a USB stick's folder served to itself), asked before the network. */
  constructor(private readonly ctx: FetchContext, private readonly disk: BundleDisk, private readonly options: FetchOptions = FETCH_DEFAULTS,
    local: readonly BundleSource[] = []) {
    this.sources = [...local, ...bundleSources(ctx.config)];
    this.nodeIndex = nodeIndexOf(ctx.config);
    this.from = { address: ctx.config.address };
  }

  private get channels(): Record<string, string> {
    return Object.fromEntries(CLUSTER_SNAPS.map((name) => [name, this.ctx.config.snaps[name]]));
  }

  /** Every file of the bundle on this node's disk, checked; the bundle. */
  async fetchAll(): Promise<BundleManifest> {
    let missing: string[] = [];
    for (let round = 1; round <= this.options.rounds; round++) {
      if (round > 1) {
        this.ctx.report(`waiting for a source of the snap bundle (${missing.join('; ')})`, 'waiting');
        await this.ctx.clock.sleep(this.options.pauseMs);
      }
      const bundle = await this.manifest();
      if (!bundle) {
        missing = [`no source gave a usable ${BUNDLE_FILE}`];
        continue;
      }
      missing = [];
      for (const [index, entry] of bundle.snaps.entries()) {
        const gap = await this.entry(entry, index);
        if (gap) missing.push(gap);
      }
      if (!missing.length) return bundle;
    }
    throw new TemporaryFailure(`the snap bundle is incomplete after ${this.options.rounds} rounds over its sources: ${missing.join('; ')}`);
  }

  /**
   * bundle.json: the one kept from an earlier start (the same set after a power cut), else the
   * first in source order that parses and matches node.json's channels (peers first: a node added
   * months later installs the revisions the members run). Also learns which sources hold a bundle.
   */
  private async manifest(): Promise<BundleManifest | undefined> {
    const answers = await Promise.all(this.sources.map(async (source) =>
      ({ source, got: await fetchSmall(source, bundlePath(BUNDLE_FILE), MAX_BUNDLE_FILE_BYTES, this.from, this.options) })));
    const parsed = new Map<BundleSource, { bundle: BundleManifest; text: string }>();
    for (const { source, got } of answers) {
      if (!got.ok) continue;
      const result = usableBundle(got.body, this.channels);
      if ('refused' in result) this.ctx.log.warn(`bundle: ${source.name} (${source.address}): ${result.refused}; not used`);
      else parsed.set(source, { bundle: result.bundle, text: got.body });
    }
    this.holders = [...parsed.keys()];
    const kept = await this.disk.readText(BUNDLE_FILE);
    if (kept !== undefined) {
      const result = usableBundle(kept, this.channels);
      if ('bundle' in result) return result.bundle;
      this.ctx.log.warn(`bundle: the ${BUNDLE_FILE} kept on disk is unusable (${result.refused}); taking it afresh`);
      await this.disk.remove(BUNDLE_FILE);
    }
    // Which revisions: the peers' first (what the members run), then a stick's, then the server's.
    const order = sourceOrder(this.holders, this.nodeIndex, 0);
    const first = [...order.filter((s) => s.kind === 'peer'), ...order.filter((s) => s.kind !== 'peer')].map((s) => parsed.get(s)!)[0];
    if (!first) return undefined;
    await this.disk.writeWhole(BUNDLE_FILE, first.text);
    return first.bundle;
  }

  /** The entry's .assert, then its .snap, each checked on disk; undefined when both are there, else what is missing. */
  private async entry(entry: BundleSnap, index: number): Promise<string | undefined> {
    const order = sourceOrder(this.holders, this.nodeIndex, index);
    const assertion = await this.kept(entry.assert, (text) => assertProblem(entry, text))
      ?? await this.firstThatGives(entry.assert, order, (source) => this.fetchAssert(entry, source));
    if (assertion !== true) return assertion;
    const snap = await this.keptSnap(entry)
      ?? await this.firstThatGives(entry.file, order, (source) => this.fetchSnap(entry, source));
    return snap === true ? undefined : snap;
  }

  private async firstThatGives(file: string, order: readonly BundleSource[], attempt: (s: BundleSource) => Promise<Outcome>): Promise<true | string> {
    if (!order.length) return `${file}: no source has the bundle`;
    const refusals: string[] = [];
    for (const source of order) {
      this.ctx.report(`fetching ${file} from ${source.name} (${source.address})`);
      const outcome = await attempt(source);
      if (outcome.ok) {
        this.ctx.log.info(`bundle: ${file} from ${source.name} (${source.address}), checked`);
        return true;
      }
      this.ctx.log.warn(`bundle: ${file} from ${source.name} (${source.address}): ${outcome.why}; trying the next source`);
      refusals.push(`${source.name}: ${outcome.why}`);
    }
    return `${file} (${refusals.join(', ')})`;
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
    if ((await this.disk.size(entry.file)) !== entry.size) {
      await this.disk.remove(entry.file);
      return undefined;
    }
    if ((await this.disk.hashOf(entry.file, 'sha3-384')).digest('hex') === await this.expectedDigest(entry)) return true;
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
    let hash = have ? await this.disk.hashOf(partial, 'sha3-384') : createHash('sha3-384');
    if (have >= entry.size) {
      // Whole already: a power cut between its last byte and the rename. Asking for bytes from its end gets 416 from every
      // source, for good: it is checked as it is, and renamed into place or fetched afresh.
      if (have === entry.size && hash.copy().digest('hex') === expected) {
        await this.disk.rename(partial, entry.file);
        return { ok: true };
      }
      await this.disk.remove(partial);
      have = 0;
      hash = createHash('sha3-384');
    }
    let writer: Awaited<ReturnType<BundleDisk['writer']>> | undefined;
    const transfer = await fetchStream(source, bundlePath(entry.file), have, entry.size, `"${expected}"`, this.from, this.options, {
      start: async (resumed, etag) => {
        if (etag !== undefined && !etagNames(etag, expected)) return false;
        if (!resumed && have) hash = createHash('sha3-384'); // the source sent the whole file: start over
        writer = await this.disk.writer(partial, !resumed);
        return true;
      },
      chunk: async (bytes) => {
        hash.update(bytes);
        await writer!.write(bytes);
      },
    }).finally(() => writer?.close());
    if (!transfer.ok) return transfer; // the partial file stays: the next source continues it
    const actual = hash.digest('hex');
    if (actual !== expected) {
      await this.disk.remove(partial);
      return { ok: false, why: `its SHA3-384 ${actual.slice(0, 16)}... is not the ${expected.slice(0, 16)}... its assertion vouches for; deleted` };
    }
    await this.disk.rename(partial, entry.file);
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
