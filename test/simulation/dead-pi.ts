// A Pi that lost power, as its peers meet it on a LAN: nothing answers at its address. A request
// to it is not refused at once (that is a live host with a closed port); it hangs until the
// sender's ARP gives up on the address, about three seconds on Linux (three solicitations a
// second apart, net.ipv4.neigh.*.mcast_solicit), and fails then.
import { createServer, type Socket } from 'node:net';

/** Model milliseconds a connection to a dead Pi hangs before it fails. */
export const DEAD_HOST_GIVE_UP_MS = 3000;

export interface DeadPi { close(): Promise<void> }

/** Listens in place of the dead Pi's status endpoint: accepts, never answers, and drops each connection after `holdWallMs`. */
export function silentListener(address: string, port: number, holdWallMs: number): Promise<DeadPi> {
  const held = new Set<Socket>();
  const server = createServer((socket) => {
    held.add(socket);
    socket.on('error', () => undefined);
    const timer = setTimeout(() => socket.destroy(), holdWallMs);
    socket.once('close', () => {
      clearTimeout(timer);
      held.delete(socket);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve({
      close: () => new Promise((closed) => {
        for (const socket of held) socket.destroy();
        server.close(() => closed());
      }),
    }));
  });
}
