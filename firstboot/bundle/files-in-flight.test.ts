// Passing a .snap on while it arrives: a reader of the partial file (real files in a temporary
// folder) gets the bytes as the fetch reports them, waits for the rest, and stops when the file
// is started afresh or nothing arrives. Through a node's server: the arriving file is listed and served.
import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { OPEN_FLAGS } from './bundle-files.js';
import { BUNDLE_FORMAT } from './bundle-manifest.js';
import { startBundleServer } from './bundle-server.js';
import { FilesInFlight } from './files-in-flight.js';
import { keptBundleFiles } from './serve-kept-bundle.js';

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'mcpi-in-flight-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits (up to 5 s) until `read` gives `want`, then returns what it gives: no fixed sleep a loaded machine outruns. */
async function settles(read: () => string, want: string): Promise<string> {
  for (let i = 0; i < 250 && read() !== want; i++) await sleep(20);
  await sleep(20); // and no more than that arrives
  return read();
}
const FILE = 'lxd_31333.snap';
const partial = () => join(dir, `${FILE}.partial`);

function collect(stream: Readable): { bytes: () => Buffer; ended: Promise<Error | undefined> } {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<Error | undefined>((resolve) => {
    stream.on('end', () => resolve(undefined));
    stream.on('error', (error) => resolve(error));
  });
  return { bytes: () => Buffer.concat(chunks), ended };
}

describe('a file in flight', () => {
  it('a reader gets the bytes as they arrive, waits for the rest, and reads on after the file is renamed into place', async () => {
    const flights = new FilesInFlight();
    await writeFile(partial(), 'abcd');
    flights.start(FILE, 10, 4, true);
    const opened = (await flights.open(FILE, partial(), OPEN_FLAGS))!;
    expect(opened.size).toBe(10);
    const reader = collect(opened.read(2, 9));
    expect(await settles(() => reader.bytes().toString(), 'cd')).toBe('cd'); // what is there, then it waits
    await appendFile(partial(), 'efg');
    flights.grew(FILE, 7);
    expect(await settles(() => reader.bytes().toString(), 'cdefg')).toBe('cdefg');
    await appendFile(partial(), 'hij');
    await rename(partial(), join(dir, FILE)); // checked and renamed: the reader's file is the same one
    flights.done(FILE);
    expect(await reader.ended).toBeUndefined();
    expect(reader.bytes().toString()).toBe('cdefghij');
    expect(flights.names()).toEqual([]);
    expect(await flights.open(FILE, partial(), OPEN_FLAGS)).toBeUndefined(); // done: the whole file is served, not this
  });

  it('stops its readers when the file is started afresh or dropped, but not when the fetch continues the same bytes', async () => {
    const flights = new FilesInFlight();
    await writeFile(partial(), 'abcd');
    flights.start(FILE, 10, 4, true);
    const first = collect((await flights.open(FILE, partial(), OPEN_FLAGS))!.read(0, 9));
    flights.start(FILE, 10, 4, false); // another source continues from byte 4
    await sleep(20);
    flights.start(FILE, 10, 0, true); // a source sent the whole file: these may be other bytes
    expect((await first.ended)?.message).toMatch(/started afresh/);
    const second = collect((await flights.open(FILE, partial(), OPEN_FLAGS))!.read(0, 9));
    flights.drop(FILE); // failed its check and deleted
    expect((await second.ended)?.message).toMatch(/started afresh/);
  });

  it('a reader that gets no new byte for the idle limit stops (its asker goes elsewhere)', async () => {
    const flights = new FilesInFlight(50);
    await writeFile(partial(), 'ab');
    flights.start(FILE, 10, 2, true);
    const reader = collect((await flights.open(FILE, partial(), OPEN_FLAGS))!.read(0, 9));
    expect((await reader.ended)?.message).toMatch(/no new byte for 0.05 s/);
    expect(reader.bytes().toString()).toBe('ab');
  });

  it('through a node\'s server: listed as arriving, served with its whole length as it comes', async () => {
    const flights = new FilesInFlight();
    const snap = { name: 'lxd', 'snap-id': 'x', revision: 31333, channel: '5.21/stable', base: 'core22', type: 'app', version: '1', role: 'cluster',
      size: 6, 'sha3-384': 'a'.repeat(96), file: FILE, assert: 'lxd_31333.assert' };
    await writeFile(join(dir, 'bundle.json'), JSON.stringify({ format: BUNDLE_FORMAT, cluster: 'c', arch: 'arm64', series: '16', store: 's', tool: 't', snaps: [snap] }));
    await writeFile(join(dir, 'lxd_31333.assert'), 'assertion');
    await writeFile(partial(), 'abc');
    flights.start(FILE, 6, 3, true);
    const server = await startBundleServer({ host: '127.0.0.64', port: 0, files: keptBundleFiles(dir, flights) });
    try {
      const head = await new Promise<import('node:http').IncomingMessage>((resolve) =>
        request({ host: '127.0.0.64', port: server.port, path: '/bundle/bundle.json', method: 'HEAD' }, (res) => { res.resume(); resolve(res); }).end());
      expect([head.headers['x-mcpi-bundle-have'], head.headers['x-mcpi-bundle-arriving']]).toEqual(['lxd_31333.assert', FILE]);
      const body = new Promise<{ length: string | undefined; text: string }>((resolve) =>
        request({ host: '127.0.0.64', port: server.port, path: `/bundle/${FILE}` }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ length: res.headers['content-length'], text: Buffer.concat(chunks).toString() }));
        }).end());
      await sleep(30);
      await appendFile(partial(), 'def');
      flights.grew(FILE, 6);
      expect(await body).toEqual({ length: '6', text: 'abcdef' });
    } finally {
      await server.close();
    }
  });
});
