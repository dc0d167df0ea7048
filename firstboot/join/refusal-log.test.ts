// What a refused sender's text looks like in the log: one row per character that could break a
// line, hide text or show it in another order, and the text that passes as it is.
import { printable } from './refusal-log.js';

describe('printable text from a refused join request', () => {
  it.each([
    ['a line feed (a line of its own)', 'pi9\nwarning: fake', 'pi9\\nwarning: fake'],
    ['a carriage return', 'pi9\rfake', 'pi9\\rfake'],
    ['an escape (terminal colours)', '\x1b[31mred', '\\x1b[31mred'],
    ['DEL and a C1 control', 'a\x7fb\x9bc', 'a\\x7fb\\x9bc'],
    ['the line and paragraph separators', 'a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
    ['the right-to-left override (shows the rest reversed)', 'pi9\u202Etxt.exe', 'pi9\\u202etxt.exe'],
    ['the other embeddings and overrides', '\u202A\u202B\u202C\u202D', '\\u202a\\u202b\\u202c\\u202d'],
    ['the Arabic letter mark', 'a\u061Cb', 'a\\u061cb'],
    ['zero-width space, non-joiner, joiner', 'p\u200Bi\u200C9\u200D', 'p\\u200bi\\u200c9\\u200d'],
    ['the left-to-right and right-to-left marks', '\u200Eab\u200F', '\\u200eab\\u200f'],
    ['the word joiner and invisible operators', '\u2060\u2061\u2062\u2063\u2064', '\\u2060\\u2061\\u2062\\u2063\\u2064'],
    ['the isolates', '\u2066a\u2067b\u2068c\u2069', '\\u2066a\\u2067b\\u2068c\\u2069'],
    ['a byte order mark (zero-width no-break space)', '\uFEFFpi9', '\\ufeffpi9'],
  ])('escapes %s', (_what, text, shown) => {
    expect(printable(text)).toBe(shown);
  });

  it.each([
    ['a node name', 'pi9'],
    ['letters and words beyond ASCII', 'Größe αβγ 中文 كلمة 😀'],
    ['a no-break space and punctuation', 'name\u00a0taken: pi3 (10.0.0.13)'],
  ])('keeps %s as it is', (_what, text) => {
    expect(printable(text)).toBe(text);
  });

  it('cuts long text to 300 characters, escapes counted', () => {
    expect(printable('x'.repeat(400))).toBe(`${'x'.repeat(299)}…`);
    expect(printable('\u202E'.repeat(100))).toBe(`${'\\u202e'.repeat(49)}\\u202…`);
  });
});
