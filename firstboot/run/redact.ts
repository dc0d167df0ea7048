// Text a command printed, made fit for a log line or a status field.

/** The last line of a command's output: where the tools we run say why they failed. */
export const lastLine = (text: string): string => text.trim().split('\n').pop() ?? '';

/** Hides every secret in a text before it is logged or reported. */
export const redact = (text: string, secrets: readonly string[] = []): string =>
  secrets.filter(Boolean).reduce((t, s) => t.split(s).join('***'), text);
