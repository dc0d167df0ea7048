// The .snap files this node is fetching right now, so its own bundle server can pass them on while
// they arrive: a node three hops from the operator's computer gets bytes as soon as the first node
// has them, instead of waiting for whole files at every hop (fifty nodes then take little longer
// than one). The fetch (fetch-bundle.ts) says how far each file has come; a reader follows it.
// Bytes in flight are not checked yet: every node checks the whole file itself (SHA3-384 against
// its assertion) before snapd sees it, so passing them on early can waste a download, never give
// a wrong install. A file started afresh or found bad stops its readers at once.
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ArrivingFiles } from '../run/types.js';

/** A reader that has had no new byte for this long stops (the asker continues elsewhere). */
export const FOLLOW_IDLE_MS = 30_000;
const CHUNK = 64 * 1024;

class Flight {
  state: 'arriving' | 'done' | 'dropped' = 'arriving';
  private waiters = new Set<() => void>();
  constructor(readonly size: number, public bytes: number) {}

  changed(): void {
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /** Resolves on the next change, or after idleMs (false). */
  next(idleMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const wake = () => { clearTimeout(timer); resolve(true); };
      const timer = setTimeout(() => { this.waiters.delete(wake); resolve(false); }, idleMs);
      this.waiters.add(wake);
    });
  }
}

export class FilesInFlight implements ArrivingFiles {
  private readonly flights = new Map<string, Flight>();

  constructor(private readonly idleMs: number = FOLLOW_IDLE_MS) {}

  /**
   * `file` is being written to its .partial, `bytes` of its `size` there already. `fresh`: from its
   * first byte (readers of an earlier start stop); else it continues the same bytes (they go on).
   */
  start(file: string, size: number, bytes: number, fresh: boolean): void {
    const flight = this.flights.get(file);
    if (flight && !fresh && flight.size === size) {
      this.grew(file, bytes);
      return;
    }
    this.drop(file);
    this.flights.set(file, new Flight(size, bytes));
  }

  grew(file: string, bytes: number): void {
    const flight = this.flights.get(file);
    if (!flight) return;
    flight.bytes = bytes;
    flight.changed();
  }

  /** Checked and renamed into place: readers read what is left, new askers get the file itself. */
  done(file: string): void {
    const flight = this.flights.get(file);
    if (!flight) return;
    flight.state = 'done';
    flight.bytes = flight.size;
    flight.changed();
    this.flights.delete(file);
  }

  /** Deleted, or started afresh: what readers were sent may not be these bytes; they stop. */
  drop(file: string): void {
    const flight = this.flights.get(file);
    if (!flight) return;
    flight.state = 'dropped';
    flight.changed();
    this.flights.delete(file);
  }

  names(): string[] {
    return [...this.flights.keys()];
  }

  /**
   * The file's listed size and a reader of bytes start..end (inclusive) that waits for them to
   * arrive; undefined when the file is not in flight or its partial cannot be opened. `partialPath`
   * is where the fetch writes it; `flags` as the bundle's other files are opened (no links).
   */
  async open(file: string, partialPath: string, flags: number): Promise<{ size: number; read(start: number, end: number): Readable; close(): Promise<void> } | undefined> {
    const flight = this.flights.get(file);
    if (!flight) return undefined;
    let handle: FileHandle;
    try {
      handle = await open(partialPath, flags);
    } catch {
      return undefined; // renamed into place a moment ago, or gone: the asker is told to try again
    }
    // Closed once, whichever comes first: the reader's end, its stream destroyed before its first read (a generator never
    // started runs no finally), or close() instead of read().
    let closing: Promise<void> | undefined;
    const close = () => (closing ??= handle.close());
    if (flight.state !== 'arriving') {
      await close();
      return undefined;
    }
    return {
      size: flight.size,
      read: (start, end) => Readable.from(follow(handle, flight, start, end, this.idleMs), { objectMode: false })
        .once('close', () => void close()),
      close,
    };
  }
}

/** Bytes start..end of the partial file as they arrive; the caller closes the handle. */
async function* follow(handle: FileHandle, flight: Flight, start: number, end: number, idleMs: number): AsyncGenerator<Buffer> {
  let at = start;
  while (at <= end) {
    if (flight.state === 'dropped') throw new Error('the file was started afresh on this node');
    if (at < flight.bytes) {
      const length = Math.min(CHUNK, flight.bytes - at, end + 1 - at);
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, at);
      if (bytesRead === 0) throw new Error('the partial file is shorter than the fetch said');
      at += bytesRead;
      yield buffer.subarray(0, bytesRead);
    } else if (!(await flight.next(idleMs))) {
      throw new Error(`no new byte for ${idleMs / 1000} s`);
    }
  }
}
