// Every rendered file of every example, byte for byte. After an intended change, run
// `npm run golden:update` and review the diff of test/golden/ like code.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { renderSeed } from '../builder/render/seed.js';
import { exampleNames, loadExample, REPO, TEST_PASSPHRASE } from './helpers/examples.js';
import { TEST_TICKET } from './helpers/operator-key.js';

const GOLDEN = join(REPO, 'test', 'golden');
const update = process.env.UPDATE_GOLDEN === '1';

const cases = exampleNames().flatMap((example) =>
  loadExample(example).nodes.map((node) => [example, node.name] as const));

describe('golden seed files', () => {
  it.each(cases)('renders %s/%s exactly as reviewed', (example, node) => {
    // A fixed key and issue time: the join ticket in node.json is the same on every run.
    const seed = renderSeed(loadExample(example), node, TEST_PASSPHRASE, { ticket: TEST_TICKET });
    for (const [file, text] of Object.entries(seed)) {
      const path = join(GOLDEN, example, node, file);
      if (update) {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, text);
      }
      expect(text).toBe(readFileSync(path, 'utf8'));
    }
  });
});
