// The shell around validateCluster: read the file, throw ConfigError with every problem.
import { readFile } from 'node:fs/promises';
import { ConfigError, type LocatedProblem } from './problems.js';
import type { Cluster } from './types.js';
import { validateCluster } from './validate-cluster.js';

export async function loadCluster(file: string): Promise<{ cluster: Cluster; warnings: LocatedProblem[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code})`;
    throw new ConfigError([{ file, path: [], severity: 'error', message,
      hint: 'Pass the cluster file with --config, e.g. --config examples/three-pis-ceph/cluster.yaml.' }], { cause: error });
  }
  const result = validateCluster(text, file);
  if (!result.ok) throw new ConfigError(result.problems);
  return { cluster: result.cluster, warnings: result.warnings };
}
