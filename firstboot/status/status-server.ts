// The read-only status endpoint peers and the operator ask: GET /status -> NodeStatus as JSON.
// It only ever serves the status object it is given: no secret can reach it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NodeStatus } from '../run/types.js';

export interface StatusServer { readonly port: number; close(): Promise<void> }

export async function startStatusServer(host: string, port: number, current: () => NodeStatus): Promise<StatusServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/status' && req.url !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /status\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(`${JSON.stringify(current())}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
