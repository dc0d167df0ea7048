// What `build-image snaps` and `build-image serve` read alike from their arguments: --config FILE
// (default cluster.yaml), --debug and --help, parseArgs' errors said with the command's usage
// line, and the --help page's layout around each command's own text.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';
import { optionErrorMessage } from '../option-errors.js';

export const COMMON_OPTIONS = {
  config: { type: 'string', short: 'c' }, debug: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const;

export interface CommonOptions {
  readonly help: boolean;
  readonly config: string;
  readonly debug: boolean;
}

type Options = NonNullable<ParseArgsConfig['options']>;
type CommandArgs<O extends Options> = { args: string[]; strict: true; allowPositionals: false; options: O };

/** argv's options (no positional words), or a UsageError that names the nearest option and where the usage is. */
export function parseCommandArgs<O extends Options>(argv: readonly string[], options: O, command: { name: string; usage: string })
  : ReturnType<typeof parseArgs<CommandArgs<O>>>['values'] {
  const config: CommandArgs<O> = { args: [...argv], strict: true, allowPositionals: false, options };
  try {
    return parseArgs(config).values;
  } catch (error) {
    throw new UsageError(optionErrorMessage(error, Object.keys(options), `Usage: ${command.usage} (see build-image ${command.name} --help).`),
      { cause: error });
  }
}

/** --help, --config and --debug with their defaults. */
export const commonOptions = (values: { help?: boolean; config?: string; debug?: boolean }): CommonOptions =>
  ({ help: values.help ?? false, config: values.config ?? 'cluster.yaml', debug: values.debug ?? false });

/** A command's --help page: its usage, what it does, its options and exit codes, then what every command has. */
export const commandHelp = (page: { usage: string; about: string; options: string; exits: string }): string => `Usage: ${page.usage}

${page.about}

Options:
${page.options}
      --debug         show stack traces for unexpected errors
  -h, --help          show this help

Exit codes:
${page.exits}
  1  unexpected failure (rerun with --debug and report it)
`;
