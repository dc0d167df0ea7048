// A network link of the bundle simulation: a rate, shared by every transfer that crosses it, in
// the order they ask (a FIFO of reservations, so two transfers through one NIC get about half
// each). A transfer waits for its bytes' turn before it goes on: a node's upload on its server's
// read side, its download on its disk's write side; TCP's flow control between the two sides makes
// a transfer run at the slower of the sender's and the receiver's link, as on a LAN.
import { Transform } from 'node:stream';

/** Link speeds the issue names, in megabits per second of TCP payload (what a transfer gets, not the line rate). */
export const LINK_MBIT = {
  /** A Pi 4's gigabit NIC: about 940 Mbit/s of TCP, both ways at once. */
  pi4: 940,
  /** The operator's computer on gigabit Ethernet. */
  ethernet: 940,
  /** The operator's computer on Wi-Fi 5 at a typical distance: about 200 Mbit/s of TCP. */
  wifi: 200,
  /** The site's uplink to the Snap Store. */
  uplink: 100,
} as const;

export class Link {
  private freeAt = 0;
  /** Bytes that crossed it. */
  bytes = 0;

  /** `mbit`: the modelled rate; `scale`: bytes here per byte modelled (the simulation's files are `scale` times smaller), `speedup`: model seconds per wall second. */
  constructor(readonly mbit: number, scale: number, speedup: number) {
    this.bytesPerMs = (mbit * 1e6 / 8 / 1000) / scale * speedup;
  }

  private readonly bytesPerMs: number;

  /** Resolves when `n` bytes have crossed. */
  async cross(n: number): Promise<void> {
    const now = performance.now();
    this.freeAt = Math.max(now, this.freeAt) + n / this.bytesPerMs;
    this.bytes += n;
    const wait = this.freeAt - now;
    if (wait >= 1) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  /** A stream stage that lets each chunk on once it has crossed this link. */
  through(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, done) => { this.cross(chunk.length).then(() => done(null, chunk), done); },
    });
  }
}
