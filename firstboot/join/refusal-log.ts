// What a member writes about refused join requests: anyone on the cluster network can make it
// refuse, so lines are bounded in number (a burst cannot flood the console and the journal) and
// in content (nothing a sender chose can start a line of its own or pass for another message).
import { terminalText } from '../../builder/terminal-text.js';
import type { Clock, Logger } from '../run/types.js';

export const MAX_REFUSAL_LINES_PER_MINUTE = 10;

/**
 * Text a sender chose, as the operator's terminal gets it too (builder/terminal-text.ts): control
 * characters, line separators and the invisible format characters that reorder or hide text (a
 * sender's U+202E would show the rest of a line reversed) escaped, cut to a few hundred characters.
 */
export const printable = (text: string): string => terminalText(text);

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
