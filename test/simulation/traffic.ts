// What the simulated nodes asked of each other: the requests each node answered, by model second
// and kind; the ones refused (HTTP 400 or more) and the ones nobody answered, by kind; and the
// slowest status answer (wall clock).
import type { ModelClock } from './model-clock.js';

/** A status read, a join request (POST /join), or a batch poll (POST /join/batch). */
export type RequestKind = 'status' | 'join' | 'batch';
export type PerKind = Record<RequestKind, number>;

const none = (): PerKind => ({ status: 0, join: 0, batch: 0 });

export interface Busiest { readonly address: string; readonly second: number; readonly status: number; readonly join: number }

export class Traffic {
  /** Per answering address: model second -> requests answered (any HTTP status). */
  private readonly served = new Map<string, Map<number, PerKind>>();
  readonly refused = none();
  readonly failed = none();
  maxStatusLatencyMs = 0;
  /** Model ms from the epoch. */
  slowestAt = 0;
  constructor(private readonly clock: ModelClock) {}

  /** One request to `address`: its HTTP status, or undefined when nothing answered. */
  count(address: string, kind: RequestKind, httpStatus: number | undefined, wallMs: number): void {
    if (httpStatus === undefined) {
      this.failed[kind]++;
      return;
    }
    if (httpStatus >= 400) this.refused[kind]++;
    const second = Math.floor(this.clock.elapsed() / 1000);
    const perSecond = this.served.get(address) ?? new Map<number, PerKind>();
    const seen = perSecond.get(second) ?? none();
    seen[kind]++;
    perSecond.set(second, seen);
    this.served.set(address, perSecond);
    if (kind === 'status' && wallMs > this.maxStatusLatencyMs) {
      this.maxStatusLatencyMs = wallMs;
      this.slowestAt = this.clock.elapsed();
    }
  }

  /** The most requests one node answered in one model second, and which node and second. */
  get busiest(): Busiest {
    let top: Busiest = { address: '', second: 0, status: 0, join: 0 };
    for (const [address, perSecond] of this.served)
      for (const [second, seen] of perSecond) {
        const join = seen.join + seen.batch;
        if (seen.status + join > top.status + top.join) top = { address, second, status: seen.status, join };
      }
    return top;
  }

  /** The most requests one node answered in any `seconds` model seconds in a row. */
  maxOver(seconds: number): number {
    let most = 0;
    for (const perSecond of this.served.values()) {
      const totals = [...perSecond].map(([second, seen]) => [second, seen.status + seen.join + seen.batch] as const).sort((a, b) => a[0] - b[0]);
      let sum = 0;
      for (let head = 0, tail = 0; head < totals.length; head++) {
        sum += totals[head]![1];
        while (totals[tail]![0] <= totals[head]![0] - seconds) sum -= totals[tail++]![1];
        most = Math.max(most, sum);
      }
    }
    return most;
  }
}
