// What every server on a Pi keeps to (the status endpoint, the bundle it passes on): connections
// capped in all and per source address, the cluster's own nodes counted against the per-source cap
// only, and a listen that closes every connection with the server. One module, so the limits a
// review tested hold for both.
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ListeningServer { readonly port: number; close(): Promise<void> }

export interface HttpLimits {
  /** Time for a request's headers to arrive, and for the whole request. */
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** Open connections in all, and from one source address. */
  readonly maxConnections: number;
  readonly maxConnectionsPerSource: number;
}

export const HTTP_LIMITS: HttpLimits = { headersTimeoutMs: 3000, requestTimeoutMs: 10_000, maxConnections: 128, maxConnectionsPerSource: 8 };

/**
 * The cluster's nodes, by address: a fixed list, or a function asked once per new connection (say,
 * the cluster's current members, which may outgrow this node's file). Keep it cheap; it must not throw.
 */
export type Peers = readonly string[] | (() => ReadonlySet<string> | readonly string[]);

export const sourceOf = (socket: Socket) => (socket.remoteAddress ?? '').replace(/^::ffff:/, '');

export const peerTest = (peers: Peers | undefined): ((address: string) => boolean) => {
  if (typeof peers !== 'function') {
    const fixed = new Set(peers);
    return (address) => fixed.has(address);
  }
  return (address) => {
    const now = peers();
    return 'has' in now ? now.has(address) : now.includes(address);
  };
};

/**
 * The connection caps. A full non-peer pool makes room by closing its oldest connection whose
 * request has not fully arrived: holding one open costs a flooder nothing, so refusing newcomers
 * instead would let a few addresses keep out every node not in this node's file, and the operator.
 * Only when every non-peer connection is being served is a newcomer refused. Each connection's
 * counts are taken once and released once, whether it closes or is closed to make room.
 */
export function connectionCaps(limits: HttpLimits, isPeer: (address: string) => boolean) {
  const perSource = new Map<string, number>();
  const counted = new Map<Socket, { source: string; peer: boolean }>();
  const waiting = new Set<Socket>(); // non-peer connections not being served yet, oldest first (a Set keeps insertion order)
  let others = 0; // open connections from addresses that are not the cluster's nodes
  const release = (socket: Socket) => {
    const held = counted.get(socket);
    if (!held) return;
    counted.delete(socket);
    waiting.delete(socket);
    const left = (perSource.get(held.source) ?? 1) - 1;
    if (left > 0) perSource.set(held.source, left);
    else perSource.delete(held.source);
    if (!held.peer) others--;
  };
  return {
    /** Counts a new connection, making room if need be; false: it is refused. */
    admit(socket: Socket): boolean {
      const source = sourceOf(socket);
      if ((perSource.get(source) ?? 0) >= limits.maxConnectionsPerSource) return false;
      const peer = isPeer(source);
      if (!peer && others >= limits.maxConnections) {
        const oldest: Socket | undefined = waiting.values().next().value;
        if (!oldest) return false;
        release(oldest); // now, not on its close: the pool must not look fuller than it is meanwhile
        oldest.destroy();
      }
      perSource.set(source, (perSource.get(source) ?? 0) + 1);
      counted.set(socket, { source, peer });
      if (!peer) {
        others++;
        waiting.add(socket);
      }
      socket.once('close', () => release(socket));
      return true;
    },
    /** Its request has arrived and is being answered: no longer closed to make room. */
    serving(socket: Socket): void {
      waiting.delete(socket);
    },
  };
}

/** Listens with `caps` admitting each connection; resolves once listening (rejects when it cannot: the port taken, say). */
export async function listenCapped(server: Server, caps: ReturnType<typeof connectionCaps>, port: number, host: string): Promise<ListeningServer> {
  server.on('connection', (socket: Socket) => {
    if (!caps.admit(socket)) socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
