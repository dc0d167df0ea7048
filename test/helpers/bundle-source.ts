// A source of a snap bundle on loopback for the first-boot tests: GET /bundle/NAME from a folder,
// with Range and an ETag (the SHA3-384 bundle.json lists), as build-image serve and every node
// answer. Not the product's server (firstboot/bundle/bundle-server.ts): a stand-in that can also
// misbehave on purpose: serve a file with one byte flipped, close the connection mid-file, or
// answer busy. It records every request it was sent.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface SourceRequest { readonly path: string; readonly range?: string; readonly from: string }

export class BundleSourceDouble {
  readonly requests: SourceRequest[] = [];
  /** Files served with one byte flipped. */
  readonly corrupt = new Set<string>();
  /** Files whose next response is cut after this many bytes (one entry per response). */
  readonly cuts = new Map<string, number[]>();
  /** Answer 503 to everything (a laptop at its connection limit). */
  busy = false;
  private readonly server: Server;

  constructor(private readonly dir: string) {
    this.server = createServer((req, res) => void this.answer(req.url ?? '/', req.headers.range, req.socket.remoteAddress ?? '', res));
  }

  private async answer(url: string, range: string | undefined, from: string, res: import('node:http').ServerResponse): Promise<void> {
    this.requests.push({ path: url, ...(range ? { range } : {}), from });
    if (this.busy) return void res.writeHead(503).end('busy');
    const name = /^\/bundle\/([a-z0-9._-]+)$/.exec(url)?.[1];
    const bytes = name && !name.includes('..') ? await readFile(join(this.dir, name)).catch(() => undefined) : undefined;
    if (!bytes) return void res.writeHead(404).end('not here');
    const body = Buffer.from(bytes);
    if (this.corrupt.has(name!)) body[body.length >> 1] = body[body.length >> 1]! ^ 0xff;
    const etag = `"${createHash('sha3-384').update(bytes).digest('hex')}"`;
    const start = Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1] ?? 0);
    const slice = body.subarray(start);
    res.writeHead(start ? 206 : 200, { 'content-length': slice.length, etag, 'accept-ranges': 'bytes',
      ...(start ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}) });
    const cut = this.cuts.get(name!)?.shift();
    if (cut === undefined) return void res.end(slice);
    res.write(slice.subarray(0, cut), () => setTimeout(() => res.destroy(), 20)); // the source dies mid-file
  }

  async listen(host: string, port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => this.server.once('error', reject).listen(port, host, resolve));
    return (this.server.address() as AddressInfo).port;
  }

  /** Requests for one file (.snap, .assert or bundle.json). */
  asked(file: string): SourceRequest[] {
    return this.requests.filter((r) => r.path === `/bundle/${file}`);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
