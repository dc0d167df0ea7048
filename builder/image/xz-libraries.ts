// Which liblzma binding compresses xz chunks in process, and why the others are passed over.
// node-liblzma first: it links the system's liblzma (built at install where its prebuild does not
// load, as on Debian 12), as fast as the xz program. lzma-native next: its prebuilt liblzma 5.2.3
// (what Etcher uses) takes about 1.6x the CPU time per chunk. Both give, with these settings, the
// very bytes of `xz -6 --threads=1 --check=crc64`, so one chunk cache serves either; where neither
// loads, the xz program does the job (codecs.ts).
import { createRequire } from 'node:module';

export type XzLibrary = 'node-liblzma' | 'lzma-native';

/** In order of preference. */
export const XZ_LIBRARIES: readonly XzLibrary[] = ['node-liblzma', 'lzma-native'];

/** What doctor says of lzma-native when it is the one used (measured on one 16 MiB chunk of libraries). */
export const LZMA_NATIVE_SPEED = 'about 1.6x the CPU time of node-liblzma or the xz program per chunk';

/** Set to 1: no liblzma binding is used, the xz program compresses: a check of that fallback. */
export const NO_LZMA_NATIVE_ENV = 'MICROCLOUD_PI_NO_LZMA_NATIVE';
/** Set to 1: node-liblzma is passed over for lzma-native: a check of that fallback. */
export const NO_NODE_LIBLZMA_ENV = 'MICROCLOUD_PI_NO_NODE_LIBLZMA';

export interface XzEncoder {
  readonly library: XzLibrary;
  /** The liblzma version inside the binding. */
  readonly liblzma: string;
  /** Preset 6, CRC64, one thread: liblzma's threaded encoder writes block sizes into the headers, other bytes. */
  createCompressor(): NodeJS.ReadWriteStream;
}

export interface XzChoice {
  /** The binding that compresses here; none: the xz program. */
  readonly encoder?: XzEncoder;
  /** Every binding preferred to the one used, and why not: the gist of its load error, or the variable that switched it off. */
  readonly passedOver: readonly { readonly library: XzLibrary; readonly reason: string }[];
}

interface NodeLiblzma {
  check: { CRC64: number };
  versionString(): string;
  createXz(options: { preset: number; check: number; threads: number }): NodeJS.ReadWriteStream;
}
interface LzmaNative {
  CHECK_CRC64: number;
  versionString(): string;
  createCompressor(options: { preset: number; check: number }): NodeJS.ReadWriteStream;
}

const loads = new Map<XzLibrary, Promise<XzEncoder | Error>>();

/** One binding, loaded once: its encoder, or why it does not load on this machine. */
export function loadXzLibrary(library: XzLibrary): Promise<XzEncoder | Error> {
  let load = loads.get(library);
  if (!load) {
    load = (library === 'node-liblzma' ? loadNodeLiblzma() : loadLzmaNative()).catch((e: unknown) => e instanceof Error ? e : new Error(String(e)));
    loads.set(library, load);
  }
  return load;
}

async function loadNodeLiblzma(): Promise<XzEncoder> {
  const name = 'node-liblzma'; // a variable: no type of an optional package the build may lack
  const lib = await import(name) as NodeLiblzma;
  return { library: 'node-liblzma', liblzma: lib.versionString(),
    createCompressor: () => lib.createXz({ preset: 6, check: lib.check.CRC64, threads: 1 }) };
}

async function loadLzmaNative(): Promise<XzEncoder> {
  const lib = createRequire(import.meta.url)('lzma-native') as LzmaNative; // CommonJS without types
  return { library: 'lzma-native', liblzma: lib.versionString(),
    createCompressor: () => lib.createCompressor({ preset: 6, check: lib.CHECK_CRC64 }) };
}

/** The first binding that loads and is not switched off by the environment. */
export async function chooseXzEncoder(env: Readonly<Record<string, string | undefined>> = process.env): Promise<XzChoice> {
  const passedOver: { library: XzLibrary; reason: string }[] = [];
  for (const library of XZ_LIBRARIES) {
    const off = env[NO_LZMA_NATIVE_ENV] === '1' ? NO_LZMA_NATIVE_ENV
      : library === 'node-liblzma' && env[NO_NODE_LIBLZMA_ENV] === '1' ? NO_NODE_LIBLZMA_ENV : undefined;
    const loaded = off ? undefined : await loadXzLibrary(library);
    if (loaded && !(loaded instanceof Error)) return { encoder: loaded, passedOver };
    passedOver.push({ library, reason: off ? `${off}=1 is set` : `it does not load on ${process.platform}-${process.arch}: ${loadErrorGist(library, loaded!)}` });
  }
  return { passedOver };
}

/** One line a person can act on: "not installed", or the loader's first line without the paths. */
export function loadErrorGist(library: XzLibrary, error: Error): string {
  const code = (error as { code?: string }).code;
  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && error.message.includes(`'${library}'`))
    return 'not installed (npm leaves out an optional package whose install failed: see npm\'s log)';
  return (error.message.split('\n')[0] ?? '').replace(/ \(required by [^)]*\)/, '').replace(/\/\S*\//g, '').slice(0, 200);
}
