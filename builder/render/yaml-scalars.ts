// How values enter YAML templates. Every interpolation goes through one of these, so no
// value (a quote, a colon, a newline, a leading dash) can change the document's structure.

/** A JSON value is a YAML flow value: strings come out double-quoted and escaped. */
export const yamlValue = (value: unknown): string => {
  if (value === undefined) throw new TypeError('yamlValue: undefined cannot be written to YAML');
  return JSON.stringify(value);
};

// Printable text only (newlines aside), not starting with a blank, ending in one newline. YAML's
// printable set (YAML 1.2, c-printable) leaves out U+FFFE, U+FFFF and surrogates without their pair.
const UNPRINTABLE = /[\r\t\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]|\p{Cs}/u;
const blockSafe = (text: string): boolean =>
  !UNPRINTABLE.test(text) && /^\S/.test(text) && text.endsWith('\n') && !text.endsWith('\n\n');

/**
 * A literal block scalar (`|`) indented under its key, for multi-line text that should stay
 * readable; falls back to a quoted scalar for text a block cannot carry exactly.
 */
export function yamlBlock(text: string, indent: number): string {
  if (!blockSafe(text)) return yamlValue(text);
  const pad = ' '.repeat(indent);
  const lines = text.slice(0, -1).split('\n').map((line) => (line ? pad + line : ''));
  return `|\n${lines.join('\n')}`;
}
