// The whole config pipeline as one pure function: YAML text -> schema -> raw rules ->
// normalize (defaults) -> semantic rules -> Cluster, or every problem located in its file.
import { checkSchema } from './check-schema.js';
import { normalizeCluster } from './normalize.js';
import { parseYaml } from './parse-yaml.js';
import type { LocatedProblem, Problem } from './problems.js';
import { RAW_RULES } from './raw-rules.js';
import type { RawCluster } from './raw-cluster.js';
import { checkRules } from './rules.js';
import type { Cluster } from './types.js';

export type ValidationResult =
  | { ok: true; cluster: Cluster; warnings: LocatedProblem[] }
  | { ok: false; problems: LocatedProblem[] };

export function validateCluster(text: string, file: string): ValidationResult {
  const parsed = parseYaml(text);
  if (!parsed.ok) {
    return { ok: false, problems: parsed.problems.map((p, i) => ({ ...p, file, ...lineField(parsed.lines[i]) })) };
  }
  const { data, lineOf } = parsed.parsed;
  const locate = (p: Problem): LocatedProblem => ({ ...p, file, ...lineField(lineOf(p.path)) });
  if (data === null || data === undefined) {
    return { ok: false, problems: [locate({ path: [], severity: 'error', message: 'is empty',
      hint: 'Start from one of the files in examples/.' })] };
  }
  const schemaProblems = checkSchema(data);
  if (schemaProblems.length) return { ok: false, problems: byLine(schemaProblems.map(locate)) };
  const raw = data as RawCluster;
  const rawProblems = RAW_RULES.flatMap((rule) => rule(raw));
  if (rawProblems.length) return { ok: false, problems: byLine(rawProblems.map(locate)) };
  const cluster = normalizeCluster(raw);
  const found = checkRules(cluster).map(locate);
  const errors = found.filter((p) => p.severity === 'error');
  if (errors.length) return { ok: false, problems: byLine(found) };
  return { ok: true, cluster, warnings: found };
}

const lineField = (line: number | undefined) => (line === undefined ? {} : { line });

/** In file order, so the list reads top to bottom like the file (sort is stable). */
const byLine = (problems: LocatedProblem[]): LocatedProblem[] =>
  [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
