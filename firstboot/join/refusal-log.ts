// What a member writes about refused join requests: anyone on the cluster network can make it
// refuse, so lines are bounded in number (a burst cannot flood the console and the journal) and
// in content (nothing a sender chose can start a line of its own or pass for another message).
import type { Clock, Logger } from '../run/types.js';

export const MAX_REFUSAL_LINES_PER_MINUTE = 10;
const MAX_TEXT = 300;

/**
 * Control characters, line separators, and the invisible format characters that reorder or hide
 * text (bidi marks, embeddings, overrides and isolates; zero-width spaces and joiners; the BOM):
 * a sender's U+202E would show the rest of a line reversed. Each shown as \xNN / \uNNNN.
 */
// eslint-disable-next-line no-control-regex
const UNSHOWN = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/** Text a sender chose, with UNSHOWN characters escaped, cut to a few hundred characters. */
export function printable(text: string): string {
  const escaped = text.replace(UNSHOWN, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return escaped.length > MAX_TEXT ? `${escaped.slice(0, MAX_TEXT)}...` : escaped;
}

export class RefusalLog {
  private windowStart = -Infinity;
  private written = 0;
  private suppressed = 0;

  constructor(private readonly log: Logger, private readonly clock: Clock) {}

  /** Logs the line (already made printable) unless this minute's lines are used up. */
  refused(line: string): void {
    const now = this.clock.now();
    if (now - this.windowStart >= 60_000) {
      if (this.suppressed) this.log.warn(`join: ${this.suppressed} more refused request(s) in the last minute were not logged`);
      this.windowStart = now;
      this.written = 0;
      this.suppressed = 0;
    }
    if (this.written < MAX_REFUSAL_LINES_PER_MINUTE) {
      this.written++;
      this.log.warn(line);
    } else {
      this.suppressed++;
    }
  }
}
