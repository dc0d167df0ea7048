// parseArgs' errors, said for a person: an unknown option gets the nearest known one
// ("did you mean --seed-only?"), a stray word the nearest subcommand, and every message
// says where the usage is.
import { closestName } from '../config/check-schema.js';

const quoted = (message: string): string | undefined => /'([^']*)'/.exec(message)?.[1];

/**
 * The message for a parseArgs error. `known` are the long option names (without dashes);
 * `words` are what may stand where a positional argument was found (the subcommands).
 */
export function optionErrorMessage(error: unknown, known: readonly string[], seeHelp: string, words: readonly string[] = []): string {
  const { code, message } = error as { code?: string; message: string };
  const given = quoted(message);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && given !== undefined) {
    const name = given.replace(/^-+/, '').split('=')[0]!;
    // --seedonly, -seed-only and --seed_only all mean --seed-only; otherwise the nearest within two edits.
    const flat = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
    const match = known.find((k) => flat(k) === flat(name)) ?? (name.length > 2 ? closestName(name, known) : undefined);
    return `Unknown option '${given}'.${match ? ` Did you mean --${match}?` : ''} ${seeHelp}`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && given !== undefined) {
    const match = closestName(given, words);
    return match ? `Unknown command '${given}'. Did you mean build-image ${match}? ${seeHelp}`
      : `Unexpected argument '${given}': options start with --. ${seeHelp}`;
  }
  return `${message.replace(/\.?$/, '.')} ${seeHelp}`;
}
