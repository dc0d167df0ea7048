// What the simulated nodes asked of each other: when each request reached the node it was for
// (model time), by kind; the ones refused (HTTP 400 or more) and the ones nobody answered, by
// kind; and the slowest status answer (wall clock).
import type { ModelClock } from './model-clock.js';

/** A status read, a join request (POST /join), or a batch poll (POST /join/batch). */
export type RequestKind = 'status' | 'join' | 'batch';
export type PerKind = Record<RequestKind, number>;

const none = (): PerKind => ({ status: 0, join: 0, batch: 0 });
const KINDS: readonly RequestKind[] = ['status', 'join', 'batch'];

/** The busiest second of the busiest node: from when (model seconds from the start), and what it was asked. */
export interface Busiest { readonly address: string; readonly at: number; readonly status: number; readonly join: number }

export class Traffic {
  /** Per node address: when (model ms from the start) each request it answered reached it, and its kind (KINDS' index); numbers only, light on the collector. */
  private readonly arrivals = new Map<string, { at: number[]; kind: number[] }>();
  readonly refused = none();
  readonly failed = none();
  maxStatusLatencyMs = 0;
  /** Model ms from the start. */
  slowestAt = 0;
  constructor(private readonly clock: ModelClock) {}

  /** Model ms from the start, to stamp a request as it is sent. */
  now(): number {
    return this.clock.elapsed();
  }

  /**
   * One request to `address`, sent at `sentAt`: its HTTP status, or undefined when nothing
   * answered. Counted against the node when it answered (a dead Pi's address serves nothing).
   */
  count(address: string, kind: RequestKind, sentAt: number, httpStatus: number | undefined, wallMs: number): void {
    if (httpStatus === undefined) {
      this.failed[kind]++;
      return;
    }
    if (httpStatus >= 400) this.refused[kind]++;
    const list = this.arrivals.get(address) ?? { at: [], kind: [] };
    list.at.push(sentAt);
    list.kind.push(KINDS.indexOf(kind));
    this.arrivals.set(address, list);
    if (kind === 'status' && wallMs > this.maxStatusLatencyMs) {
      this.maxStatusLatencyMs = wallMs;
      this.slowestAt = sentAt;
    }
  }

  /** The most requests that reached one node within any `windowMs` of model time (a sliding window, not calendar seconds). */
  busiestOver(windowMs: number): Busiest & { readonly total: number } {
    let top = { address: '', at: 0, status: 0, join: 0, total: 0 };
    for (const [address, list] of this.arrivals) {
      const sorted = list.at.map((at, i) => ({ at, kind: KINDS[list.kind[i]!]! })).sort((a, b) => a.at - b.at);
      const inWindow = none();
      for (let head = 0, tail = 0; head < sorted.length; head++) {
        inWindow[sorted[head]!.kind]++;
        while (sorted[tail]!.at <= sorted[head]!.at - windowMs) inWindow[sorted[tail++]!.kind]--;
        const total = inWindow.status + inWindow.join + inWindow.batch;
        if (total > top.total)
          top = { address, at: Math.floor(sorted[tail]!.at / 1000), status: inWindow.status, join: inWindow.join + inWindow.batch, total };
      }
    }
    return top;
  }
}
