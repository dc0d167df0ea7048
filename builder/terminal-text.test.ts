import { MAX_FIELD_CHARS, terminalJson, terminalText } from './terminal-text.js';

describe('terminalText', () => {
  it.each([
    ['an OSC 52 clipboard write', 'ok\x1b]52;c;cm0gLXJmIH4K\x07', 'ok\\x1b]52;c;cm0gLXJmIH4K\\x07'],
    ['a CSI erase-line and carriage return', 'done\r\x1b[2Kforming', 'done\\r\\x1b[2Kforming'],
    ['a right-to-left override', 'cluster \u202eenod', 'cluster \\u202eenod'],
    ['every bidi control', '\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069',
      '\\u061c\\u200e\\u200f\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068\\u2069'],
    ['line and paragraph separators', 'a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
    ['DEL and a C1 CSI', 'a\x7fb\x9b2Kc', 'a\\x7fb\\x9b2Kc'],
    ['a new line and a tab', 'one\ntwo\tthree', 'one\\ntwo\\tthree'],
    ['a NUL and a bell', 'a\0b\x07', 'a\\x00b\\x07'],
    ['a zero-width space and a tag character', 'a\u200bb\u{e0041}', 'a\\u200bb\\u{e0041}'],
    ['a lone surrogate', 'a\ud800b', 'a\\ud800b'],
  ])('shows %s escaped', (_what, text, shown) => {
    expect(terminalText(text)).toBe(shown);
  });

  it('leaves ordinary text alone, accents and emoji included', () => {
    const text = 'waiting for pi2 (café, 10.0.0.12:9180) — ok 🍓';
    expect(terminalText(text)).toBe(text);
  });

  it('cuts a long field to its limit, never inside a surrogate pair', () => {
    expect(terminalText('x'.repeat(10_000))).toBe(`${'x'.repeat(MAX_FIELD_CHARS - 1)}…`);
    expect(Array.from(terminalText('🍓'.repeat(400)))).toHaveLength(MAX_FIELD_CHARS);
    expect(terminalText('🍓'.repeat(10), 4)).toBe('🍓🍓🍓…');
  });
});

describe('terminalJson', () => {
  it('escapes what JSON.stringify leaves raw, and parses back to the same values', () => {
    const value = { detail: 'a\x1b]52;c;eA==\x07 \u202e \x9b2K \x7f \u2028 \u{e0041}', nested: ['\u2066x\u2069'] };
    for (const text of [terminalJson(value), terminalJson(value, 2)]) {
      expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069]|\u{e0041}/u);
      expect(JSON.parse(text)).toEqual(value);
    }
  });
});
