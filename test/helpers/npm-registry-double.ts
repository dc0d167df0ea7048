// TEST DOUBLE of the npm registry on 127.0.0.1: `GET /<name>/<version>` answers the version's
// metadata (dist.tarball, dist.integrity) and the tarball it names; `stallTarball` sends half of
// it and then holds the connection (a moment to interrupt a build in). Also a plain HTTP proxy
// that counts what it forwarded.
import { createHash } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

export async function packageTarball(files: Record<string, string | Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name, mode: 0o755 }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

export const integrityOf = (data: Buffer): string => `sha512-${createHash('sha512').update(data).digest('base64')}`;

export interface RegistryDouble {
  readonly url: string;
  readonly requests: string[];
  stallTarball: boolean;
  close(): Promise<void>;
}

const listening = (server: Server) => new Promise<string>((resolve) =>
  server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)));

/** Serves `packages` (`name@version` -> tarball). */
export async function startRegistryDouble(packages: Record<string, Buffer>): Promise<RegistryDouble> {
  const requests: string[] = [];
  const held: (() => void)[] = [];
  const state = { stallTarball: false };
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const base = `http://${req.headers.host}/`;
    const meta = /^\/(.+)\/([^/]+)$/.exec(decodeURIComponent(req.url ?? ''));
    const tgz = /^\/-\/(.+)\.tgz$/.exec(req.url ?? '');
    const tarballOf = tgz ? decodeURIComponent(tgz[1]!) : '';
    if (tgz && packages[tarballOf]) {
      const body = packages[tarballOf]!;
      res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
      if (!state.stallTarball) return res.end(body);
      res.write(body.subarray(0, body.length >> 1));
      held.push(() => res.destroy());
      return undefined;
    }
    if (meta && packages[`${meta[1]}@${meta[2]}`]) {
      const body = packages[`${meta[1]}@${meta[2]}`]!;
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ name: meta[1], version: meta[2],
        dist: { tarball: `${base}-/${encodeURIComponent(`${meta[1]}@${meta[2]}`)}.tgz`, integrity: integrityOf(body) } }));
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    return res.end('{"error":"Not found"}');
  });
  const url = await listening(server);
  return {
    url, requests,
    get stallTarball() { return state.stallTarball; },
    set stallTarball(value: boolean) { state.stallTarball = value; },
    close: () => {
      held.forEach((release) => release());
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A forwarding HTTP proxy (absolute-form requests), recording each URL it forwarded. */
export async function startProxyDouble(): Promise<{ url: string; forwarded: string[]; close(): Promise<void> }> {
  const forwarded: string[] = [];
  const server = createServer((req, res) => {
    forwarded.push(req.url ?? '');
    const upstream = request(req.url!, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(upstream);
  });
  const url = await listening(server);
  return { url, forwarded, close: () => { server.closeAllConnections(); return new Promise((resolve) => server.close(() => resolve())); } };
}
