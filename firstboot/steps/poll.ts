import type { Clock } from '../run/types.js';

/** Calls `probe` until it returns a value or `timeoutMs` passes; undefined on timeout. */
export async function pollUntil<T>(clock: Clock, timeoutMs: number, intervalMs: number,
  probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (clock.now() >= deadline) return undefined;
    await clock.sleep(intervalMs);
  }
}
