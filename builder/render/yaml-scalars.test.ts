import { load } from 'js-yaml';
import fc from 'fast-check';
import { yamlBlock, yamlValue } from './yaml-scalars.js';

describe('yaml scalars', () => {
  it('keeps any string exactly, whatever it contains', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (text) => {
      expect(load(`key: ${yamlValue(text)}\n`)).toEqual({ key: text });
    }), { numRuns: 500 });
  });

  it('writes readable blocks that read back exactly, or falls back to a quoted scalar', () => {
    const lines = fc.array(fc.string({ unit: 'binary', maxLength: 12 }), { maxLength: 5 }).map((l) => `${l.join('\n')}\n`);
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary' }), lines), fc.integer({ min: 4, max: 8 }), (text, indent) => { // deeper than the key (2)
      expect(load(`outer:\n  key: ${yamlBlock(text, indent)}\n`)).toEqual({ outer: { key: text } });
    }), { numRuns: 500 });
  });

  // Outside YAML's printable set: a block would be refused by a YAML reader (found by the property above, seed -314573438).
  it.each(['\ufffe\n', 'a\uffff\n', 'a\ud800\n', '\udc00b\n'])('falls back to a quoted scalar for %j', (text) => {
    expect(yamlBlock(text, 4).startsWith('"')).toBe(true);
    expect(load(`outer:\n  key: ${yamlBlock(text, 4)}\n`)).toEqual({ outer: { key: text } });
  });

  it('keeps a block for text with characters outside the BMP (a surrogate pair is one printable character)', () => {
    expect(yamlBlock('Fuchsbär 🦘\n', 4)).toBe('|\n    Fuchsbär 🦘');
  });

  it('uses a literal block for ordinary multi-line text', () => {
    expect(yamlBlock('a: 1\nb: "x"\n', 4)).toBe('|\n    a: 1\n    b: "x"');
  });

  it('refuses undefined rather than writing the word', () => {
    expect(() => yamlValue(undefined)).toThrow(TypeError);
  });
});
