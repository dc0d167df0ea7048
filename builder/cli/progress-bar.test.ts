import { formatProgress, progressReporter } from './progress-bar.js';

const MiB = 1024 * 1024;

describe('progress', () => {
  it('shows bytes, percentage, rate and ETA', () => {
    expect(formatProgress({ step: 'download', label: 'img.xz', bytes: 50 * MiB, total: 200 * MiB, bytesPerSecond: 10 * MiB, done: false }, 10))
      .toBe('download img.xz: [###       ]  25% 50.0 MiB / 200.0 MiB 10.0 MiB/s ETA 0:15');
  });

  it('writes a plain line per 10% when the output is not a terminal', () => {
    const lines: string[] = [];
    const report = progressReporter({ isTTY: false, write: (t) => lines.push(t) });
    for (let b = 0; b <= 100; b += 1)
      report({ step: 'download', label: 'x', bytes: b * MiB, total: 100 * MiB, bytesPerSecond: MiB, done: b === 100 });
    expect(lines).toHaveLength(11);
    expect(lines.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
  });

  it('redraws one line in place on a terminal', () => {
    const out: string[] = [];
    const report = progressReporter({ isTTY: true, write: (t) => out.push(t) });
    report({ step: 'download', label: 'x', bytes: 1, total: 2, bytesPerSecond: 1, done: false });
    report({ step: 'download', label: 'x', bytes: 2, total: 2, bytesPerSecond: 1, done: true });
    expect(out[0]).toMatch(/^\r/);
    expect(out[1]).toMatch(/\n$/);
  });
});
