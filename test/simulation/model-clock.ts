// Model time for the simulation: `speedup` model seconds a wall second, counted from one epoch so
// every simulated node agrees on the time (as NTP makes them). Beside the product's Clock it has a
// sleep that a signal ends early, so a timeout raced against a command leaves no timer behind.
import type { Clock } from '../../firstboot/run/types.js';

export interface ModelClock extends Clock {
  readonly epoch: number;
  readonly speedup: number;
  /** Model milliseconds since the epoch. */
  elapsed(): number;
  /** Resolves after `ms` model milliseconds, or as soon as `signal` aborts (without rejecting). */
  sleepUnless(ms: number, signal: AbortSignal): Promise<void>;
}

export function modelClock(speedup: number, epoch = Date.now()): ModelClock {
  const wallMs = (ms: number) => Math.max(1, ms / speedup);
  return {
    epoch, speedup,
    now: () => epoch + (Date.now() - epoch) * speedup,
    elapsed: () => (Date.now() - epoch) * speedup,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, wallMs(ms))),
    sleepUnless: (ms, signal) => new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', cut);
        resolve();
      }, wallMs(ms));
      const cut = () => {
        clearTimeout(timer);
        resolve();
      };
      signal.addEventListener('abort', cut, { once: true });
    }),
  };
}
