// The member's saved record of the nonces of join requests it accepted, so a restarted member
// still refuses their replays. Appended, one short line per accepted request (one small write and
// fsync, not the whole ledger rewritten each time: an SD card is asked, and a batch's requests
// arrive together), and compacted now and then through a temporary name of its own. Every write
// goes through one queue: twenty requests at once never race on the file.
import type { FileAccess, Logger } from '../run/types.js';
import type { NonceLedger } from './join-auth.js';

/** Root-only: nonces of accepted join requests. */
export const ACCEPTED_NONCES_PATH = '/var/lib/microcloud-pi/join-nonces.json';
/** Lines appended since the last snapshot before it is rewritten (and at least as many as it holds). */
const COMPACT_AFTER = 256;

/**
 * Reads the ledger: a snapshot line ({floor, nonces}, also the whole file before appending) and
 * appended lines ({n, at}). A line cut by a power cut is skipped: it was written before its
 * request was answered, so that request did nothing yet.
 */
export function parseLedger(text: string): { ledger: NonceLedger; skipped: number } {
  let floor = 0;
  const nonces: Record<string, number> = {};
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { floor?: unknown; nonces?: unknown; n?: unknown; at?: unknown };
      if (typeof entry.n === 'string' && typeof entry.at === 'number') {
        nonces[entry.n] = entry.at;
      } else if (typeof entry.floor === 'number' && typeof entry.nonces === 'object' && entry.nonces) {
        floor = Math.max(floor, entry.floor);
        for (const [n, at] of Object.entries(entry.nonces)) if (typeof at === 'number') nonces[n] = at;
      } else {
        skipped++;
      }
    } catch {
      skipped++;
    }
  }
  return { ledger: { floor, nonces }, skipped };
}

export class NonceLedgerFile {
  private queue: Promise<unknown> = Promise.resolve();
  private appended = 0;

  private constructor(private readonly files: FileAccess, private readonly path: string, private readonly snapshot: () => NonceLedger) {}

  /** The saved ledger, and the file to add to; `snapshot` gives what to keep when it is compacted. */
  static async open(files: FileAccess, log: Logger, snapshot: () => NonceLedger, path = ACCEPTED_NONCES_PATH):
    Promise<{ ledger: NonceLedger; file: NonceLedgerFile }> {
    const { ledger, skipped } = parseLedger((await files.read(path)) ?? '');
    if (skipped) log.warn(`join: ${skipped} unreadable line(s) in ${path} skipped (a write cut by a power cut)`);
    return { ledger, file: new NonceLedgerFile(files, path, snapshot) };
  }

  /** Saves one accepted nonce; resolves once it is on the disk. */
  add(nonce: string, at: number): Promise<void> {
    return this.enqueue(async () => {
      await this.files.append(this.path, `${JSON.stringify({ n: nonce, at })}\n`, 0o600);
      this.appended++;
      const kept = this.snapshot();
      if (this.appended < Math.max(COMPACT_AFTER, Object.keys(kept.nonces).length)) return;
      await this.files.write(this.path, `${JSON.stringify(kept)}\n`, 0o600);
      this.appended = 0;
    });
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const done = this.queue.then(work);
    this.queue = done.catch(() => undefined); // one failed write does not stop the ones after it
    return done;
  }
}
