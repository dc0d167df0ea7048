// A loopback HTTP server standing in for Ubuntu's cdimage release directory: serves files with
// Range support, records every request, and can cut a response short or corrupt it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Served { readonly body: Uint8Array }
export interface RequestSeen { readonly path: string; readonly range?: string }

export class ReleaseServer {
  readonly requests: RequestSeen[] = [];
  /** Paths whose next responses are cut after this many bytes (one entry per response). */
  readonly cuts = new Map<string, number[]>();
  private server: Server;
  constructor(readonly files: Map<string, Uint8Array>) {
    this.server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      this.requests.push({ path, ...(req.headers.range ? { range: req.headers.range } : {}) });
      const body = this.files.get(path);
      if (!body) {
        res.writeHead(404).end('not found');
        return;
      }
      const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const start = match ? Number(match[1]) : 0;
      if (start >= body.length && match) {
        res.writeHead(416).end();
        return;
      }
      const slice = body.subarray(start);
      res.writeHead(match ? 206 : 200, { 'content-length': String(slice.length), 'accept-ranges': 'bytes' });
      const cut = this.cuts.get(path)?.shift();
      if (cut === undefined) {
        res.end(Buffer.from(slice));
        return;
      }
      // Give the client time to take what was sent, then drop the connection mid-transfer.
      res.write(Buffer.from(slice.subarray(0, cut)), () => setTimeout(() => res.destroy(), 200));
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
