// Loads the shipped example clusters (and small variations of them) for tests.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { validateCluster } from '../../builder/config/validate-cluster.js';
import { formatProblem } from '../../builder/config/problems.js';
import { asSecret, type Cluster } from '../../builder/config/types.js';

export const REPO = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
export const EXAMPLES_DIR = join(REPO, 'examples');
export const TEST_PASSPHRASE = asSecret('test-passphrase-0123456789abcdef');

export const exampleNames = (): string[] => readdirSync(EXAMPLES_DIR).sort();
export const exampleFile = (name: string): string => join(EXAMPLES_DIR, name, 'cluster.yaml');

export function clusterFromText(text: string, file = 'cluster.yaml'): Cluster {
  const result = validateCluster(text, file);
  if (!result.ok) throw new Error(`expected a valid cluster:\n${result.problems.map(formatProblem).join('\n')}`);
  return result.cluster;
}

export const loadExample = (name: string): Cluster => clusterFromText(readFileSync(exampleFile(name), 'utf8'), exampleFile(name));
