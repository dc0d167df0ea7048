// argv -> BuildOptions. Every default for the command line is applied here, once.
import { parseArgs } from 'node:util';
import { COMPRESSIONS, type Compression } from '../image/write/compress/compression.js';
import { UsageError } from './errors.js';
import { SUBCOMMANDS } from './help.js';
import { optionErrorMessage } from './option-errors.js';

export interface BuildOptions {
  readonly help: boolean;
  readonly config: string;
  readonly nodes: readonly string[];
  readonly all: boolean;
  /** The nodes built take over a dead member's name (one node only: it is always a deliberate act). */
  readonly replace: boolean;
  readonly seedOnly: boolean;
  readonly check: boolean;
  readonly out?: string;
  readonly baseImage?: string;
  readonly cacheDir?: string;
  readonly image?: string;
  readonly catalog?: string;
  readonly compress: Compression;
  readonly compressWhole: boolean;
  readonly nodeRuntime?: string;
  readonly arch?: string;
  readonly json: boolean;
  readonly debug: boolean;
}

function parseCompression(value: string | undefined): Compression {
  if (value === undefined) return 'none';
  if ((COMPRESSIONS as readonly string[]).includes(value)) return value as Compression;
  throw new UsageError(`--compress ${value} is not one of ${COMPRESSIONS.join(', ')}.`);
}

const ARCHES = ['arm64', 'amd64'];
function parseArch(value: string): string {
  if (ARCHES.includes(value)) return value;
  throw new UsageError(`--arch ${value} is not one of ${ARCHES.join(', ')}.`);
}

const BUILD_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  config: { type: 'string', short: 'c' },
  node: { type: 'string', short: 'n', multiple: true },
  all: { type: 'boolean', short: 'a' },
  replace: { type: 'boolean' },
  'seed-only': { type: 'boolean' },
  check: { type: 'boolean' },
  out: { type: 'string', short: 'o' },
  'base-image': { type: 'string' },
  cache: { type: 'string' },
  image: { type: 'string' },
  catalog: { type: 'string' },
  compress: { type: 'string' },
  'compress-whole': { type: 'boolean' },
  'node-runtime': { type: 'string' },
  arch: { type: 'string' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
} as const;

export function parseBuildArgs(argv: readonly string[]): BuildOptions {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: BUILD_OPTIONS }));
  } catch (error) {
    throw new UsageError(optionErrorMessage(error, Object.keys(BUILD_OPTIONS), 'See build-image --help.', SUBCOMMANDS), { cause: error });
  }
  const options: BuildOptions = {
    help: values.help ?? false,
    config: values.config ?? 'cluster.yaml',
    nodes: [...new Set(values.node ?? [])], // a node named twice is built once
    all: values.all ?? false,
    replace: values.replace ?? false,
    seedOnly: values['seed-only'] ?? false,
    check: values.check ?? false,
    ...(values.out !== undefined ? { out: values.out } : {}),
    ...(values['base-image'] !== undefined ? { baseImage: values['base-image'] } : {}),
    ...(values.cache !== undefined ? { cacheDir: values.cache } : {}),
    ...(values.image !== undefined ? { image: values.image } : {}),
    ...(values.catalog !== undefined ? { catalog: values.catalog } : {}),
    json: values.json ?? false,
    compress: parseCompression(values.compress),
    compressWhole: values['compress-whole'] ?? false,
    ...(values['node-runtime'] !== undefined ? { nodeRuntime: values['node-runtime'] } : {}),
    ...(values.arch !== undefined ? { arch: parseArch(values.arch) } : {}),
    debug: values.debug ?? false,
  };
  if (options.help || options.check) return options;
  if (options.all && options.nodes.length)
    throw new UsageError('Give either --node or --all, not both.');
  if (!options.all && !options.nodes.length)
    throw new UsageError('Say which node to build: --node NAME, or --all for every node.');
  if (options.replace && options.nodes.length !== 1)
    throw new UsageError('--replace takes over one dead member: give it with exactly one --node NAME (not --all).');
  return options;
}

export interface StatusOptions {
  readonly config: string;
  readonly json: boolean;
  /** List every node, not only those that are not done. */
  readonly all: boolean;
  /** Look again every `intervalSeconds` until every node is done or one needs a person. */
  readonly watch: boolean;
  readonly intervalSeconds: number;
}

const STATUS_OPTIONS = { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, all: { type: 'boolean', short: 'a' },
  watch: { type: 'boolean', short: 'w' }, interval: { type: 'string' }, debug: { type: 'boolean' } } as const;

export function parseStatusArgs(argv: readonly string[]): StatusOptions {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: STATUS_OPTIONS }));
  } catch (error) {
    throw new UsageError(optionErrorMessage(error, Object.keys(STATUS_OPTIONS), 'See build-image status --help.'), { cause: error });
  }
  const intervalSeconds = Number(values.interval ?? 5);
  if (!Number.isFinite(intervalSeconds) || intervalSeconds < 1 || intervalSeconds > 3600)
    throw new UsageError(`--interval ${values.interval} is not a number of seconds from 1 to 3600.`);
  if (values.interval !== undefined && !values.watch) throw new UsageError('--interval goes with --watch.');
  return { config: values.config ?? 'cluster.yaml', json: values.json ?? false, all: values.all ?? false, watch: values.watch ?? false, intervalSeconds };
}

export function parseFlashArgs(argv: readonly string[]): { image: string; target: string; yes: boolean; force: boolean } {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], strict: true, allowPositionals: true,
      options: { yes: { type: 'boolean', short: 'y' }, force: { type: 'boolean' }, debug: { type: 'boolean' } } });
  } catch (error) {
    throw new UsageError(optionErrorMessage(error, ['yes', 'force', 'debug'], 'See build-image flash --help.'), { cause: error });
  }
  const [image, target, ...extra] = parsed.positionals;
  if (!image || !target || extra.length) throw new UsageError('Usage: build-image flash IMAGE DEVICE [--yes] [--force]');
  return { image, target, yes: parsed.values.yes ?? false, force: parsed.values.force ?? false };
}

export interface RevokeOptions {
  readonly config: string;
  /** The node whose tickets issued until now are revoked. */
  readonly node: string;
}

const REVOKE_OPTIONS = { config: { type: 'string', short: 'c' }, node: { type: 'string', short: 'n' }, debug: { type: 'boolean' } } as const;

export function parseRevokeArgs(argv: readonly string[]): RevokeOptions {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: REVOKE_OPTIONS }));
  } catch (error) {
    throw new UsageError(optionErrorMessage(error, Object.keys(REVOKE_OPTIONS),
      'Usage: build-image revoke --node NAME [--config FILE] (see build-image revoke --help).'), { cause: error });
  }
  if (!values.node) throw new UsageError('Say whose cards to revoke: build-image revoke --node NAME [--config FILE]');
  // A node's name is its hostname (the cluster file's rules); anything else has no ticket to revoke.
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(values.node))
    throw new UsageError(`--node ${values.node} is not a node name: lowercase letters, digits and dashes.`);
  return { config: values.config ?? 'cluster.yaml', node: values.node };
}
