// Whatever YAML a user writes, validation ends in a valid Cluster or a list of located
// problems: never another exception.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { validateCluster } from '../builder/config/validate-cluster.js';
import { formatProblem } from '../builder/config/problems.js';
import { arbitraryClusterDoc } from './helpers/arbitrary-cluster.js';

function expectCleanOutcome(text: string): void {
  const result = validateCluster(text, 'fuzz.yaml');
  if (result.ok) return;
  expect(result.problems.length).toBeGreaterThan(0);
  for (const p of result.problems) expect(formatProblem(p)).toMatch(/^fuzz\.yaml(:\d+)?: /);
}

describe('validateCluster on arbitrary input', () => {
  it('never throws on random text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), expectCleanOutcome), { numRuns: 1000 });
  });

  it('never throws on random YAML documents', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => expectCleanOutcome(stringify(value))), { numRuns: 500 });
  });

  it('never throws when valid clusters are damaged field by field', () => {
    const damage = fc.oneof(fc.constant(null), fc.integer(), fc.string(), fc.constant([]), fc.constant({}), fc.boolean());
    fc.assert(fc.property(arbitraryClusterDoc, fc.array(fc.nat(), { maxLength: 4 }), damage, (doc, route, value) => {
      // Walk a random path into the document and replace what is there.
      let target: any = doc; // eslint-disable-line @typescript-eslint/no-explicit-any
      let key: string | number | undefined;
      for (const [depth, step] of route.entries()) {
        const keys = Object.keys(target);
        if (!keys.length) break;
        key = Array.isArray(target) ? step % target.length : keys[step % keys.length]!;
        const next = target[key];
        if (depth === route.length - 1 || next === null || typeof next !== 'object') break;
        target = next;
      }
      if (key !== undefined && target && typeof target === 'object') target[key] = value;
      expectCleanOutcome(stringify(doc));
    }), { numRuns: 500 });
  });

  it('accepts every generated valid cluster', () => {
    fc.assert(fc.property(arbitraryClusterDoc, (doc) => {
      const result = validateCluster(stringify(doc), 'gen.yaml');
      if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    }), { numRuns: 200 });
  });

  it('survives alias bombs without hanging', () => {
    const bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n'
      + 'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n';
    const result = validateCluster(bomb, 'bomb.yaml');
    expect(result.ok).toBe(false);
  });
});
