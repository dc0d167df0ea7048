// Draws Progress events: a bar redrawn in place on a terminal, a plain line every 10% otherwise.
import type { OnProgress, Progress } from '../image/progress.js';

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

function eta(p: Progress): string {
  if (p.total === undefined || p.bytesPerSecond <= 0) return '';
  const seconds = Math.max(0, Math.round((p.total - p.bytes) / p.bytesPerSecond));
  return ` ETA ${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

export function formatProgress(p: Progress, width = 24): string {
  const rate = `${mib(p.bytesPerSecond)}/s`;
  if (p.total === undefined) return `${p.step} ${p.label}: ${mib(p.bytes)} ${rate}`;
  const fraction = Math.min(1, p.bytes / p.total);
  const filled = Math.round(fraction * width);
  return `${p.step} ${p.label}: [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% `
    + `${mib(p.bytes)} / ${mib(p.total)} ${rate}${p.done ? '' : eta(p)}`;
}

export function progressReporter(options: { isTTY: boolean; write: (text: string) => void }): OnProgress {
  let lastDecile = -1;
  return (p) => {
    if (options.isTTY) {
      options.write(`\r\u001b[2K${formatProgress(p)}${p.done ? '\n' : ''}`);
      return;
    }
    // 100% is said once, by the done line (a last chunk's report and the done report both reach it).
    const decile = p.total ? Math.min(9, Math.floor((p.bytes / p.total) * 10)) : -1;
    if (p.done || decile > lastDecile) options.write(`${formatProgress(p)}\n`);
    lastDecile = p.done ? -1 : Math.max(lastDecile, decile);
  };
}
