/** One report of long work; only the CLI draws it. */
export interface Progress {
  readonly step: 'download' | 'flash' | 'compress' | 'unpack';
  readonly label: string;
  readonly bytes: number;
  readonly total?: number;
  readonly bytesPerSecond: number;
  readonly done: boolean;
}
export type OnProgress = (progress: Progress) => void;

/**
 * `(done, total)` byte counts (an unpacking's, say) as Progress of `step`: the rate since the
 * first count, at most every quarter second, and once when `done` reaches `total`.
 */
export function progressOfBytes(step: Progress['step'], label: string, onProgress: OnProgress,
  now: () => number = () => performance.now()): (done: number, total: number) => void {
  let began: number | undefined;
  let last = -Infinity;
  return (done, total) => {
    const at = now();
    began ??= at;
    const finished = done >= total;
    if (!finished && at - last < 250) return;
    last = at;
    onProgress({ step, label, bytes: done, total, done: finished, bytesPerSecond: done / Math.max(0.001, (at - began) / 1000) });
  };
}
