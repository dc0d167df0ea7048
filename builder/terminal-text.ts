// Text that came over the network, made safe to print on the operator's terminal. Whoever
// answers at a node's address chooses it, and a raw escape could set the clipboard (OSC 52),
// erase or rewrite lines, or flip text right-to-left (U+202E) so a line reads as something else.
// Pure.

/**
 * C0 and C1 controls and DEL (\p{Cc}), format controls such as the bidi overrides and isolates,
 * U+061C and zero-width marks (\p{Cf}), the line and paragraph separators, and lone surrogates.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029]/gu;

/** A field longer than this is cut: one table cell or warning, not a screenful. */
export const MAX_FIELD_CHARS = 300;

const SHORT: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const escaped = (char: string): string => {
  const short = SHORT[char];
  if (short) return short;
  const code = char.codePointAt(0)!;
  if (code < 0x100) return `\\x${code.toString(16).padStart(2, '0')}`;
  return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** `text` with every unprintable character shown escaped (\x1b, \u202e), cut to `max` characters. */
export function terminalText(text: string, max = MAX_FIELD_CHARS): string {
  const safe = text.replace(UNPRINTABLE, escaped);
  const chars = Array.from(safe); // by code point: a cut never splits a surrogate pair
  return chars.length <= max ? safe : `${chars.slice(0, max - 1).join('')}…`;
}

/** What JSON.stringify leaves raw inside strings; it escapes C0 itself, and a raw newline is its indent. */
const RAW_IN_JSON = /[\u007f-\u009f\p{Cf}\u2028\u2029]/gu;

/** JSON for a terminal: those characters written as \u escapes, so the text parses to the very same values. */
export function terminalJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(RAW_IN_JSON,
    (char) => Array.from({ length: char.length }, (_, i) => `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''));
}
