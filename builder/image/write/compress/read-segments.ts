// Reads byte ranges of files as one stream, in pieces of a fixed size taken from a pool: an
// image is compressed in 16 MiB chunks that way while only the chunks in use are held.
import { open, type FileHandle } from 'node:fs/promises';

/** `bytes` bytes of `path` from offset `from`. */
export interface Segment { readonly path: string; readonly from: number; readonly bytes: number }

/**
 * Buffers of one size handed out again once given back: an image streamed in 16 MiB pieces then
 * holds only the pieces in use, instead of leaving hundreds for the garbage collector.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  constructor(readonly size: number) {}
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }
  /** `piece` (or a view at its start) is no longer used by anyone. */
  give(piece: Buffer): void {
    if (piece.buffer.byteLength === this.size) this.free.push(Buffer.from(piece.buffer, 0, this.size));
  }
}

/**
 * Yields the segments' bytes in order, `pieceBytes` at a time (the last piece may be shorter).
 * Each piece is a buffer of its own, taken from `pool` when given: the caller gives it back there.
 */
export async function* readSegments(segments: readonly Segment[], pieceBytes: number, pool?: BufferPool): AsyncGenerator<Buffer> {
  const files = new Map<string, FileHandle>();
  try {
    for (const { path } of segments) if (!files.has(path)) files.set(path, await open(path, 'r'));
    const total = segments.reduce((sum, s) => sum + s.bytes, 0);
    let segment = 0;
    let inSegment = 0;
    for (let at = 0; at < total; at += pieceBytes) {
      const length = Math.min(pieceBytes, total - at);
      const piece = pool && pool.size === pieceBytes ? pool.take().subarray(0, length) : Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < piece.length) {
        const s = segments[segment]!;
        const length = Math.min(piece.length - filled, s.bytes - inSegment);
        const { bytesRead } = await files.get(s.path)!.read(piece, filled, length, s.from + inSegment);
        if (bytesRead === 0) throw new RangeError(`${s.path} ends before byte ${s.from + s.bytes}`);
        filled += bytesRead;
        inSegment += bytesRead;
        if (inSegment === s.bytes) {
          segment++;
          inSegment = 0;
        }
      }
      yield piece;
    }
  } finally {
    await Promise.all([...files.values()].map((f) => f.close()));
  }
}
