/** Hides every secret in a text before it is logged or reported. */
export const redact = (text: string, secrets: readonly string[] = []): string =>
  secrets.filter(Boolean).reduce((t, s) => t.split(s).join('***'), text);
