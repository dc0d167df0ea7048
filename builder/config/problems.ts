// A Problem is one thing wrong with a cluster file, worded for the person who wrote it.

export type FieldPath = readonly (string | number)[];

export interface Problem {
  /** Field path inside the cluster file, e.g. ['nodes', 2, 'address']. Empty for the whole file. */
  readonly path: FieldPath;
  /** What is wrong, starting with the offending value where that helps. */
  readonly message: string;
  /** What to do about it. */
  readonly hint: string;
  readonly severity: 'error' | 'warning';
}

/** A Problem placed in its file, with the line when the YAML told us. */
export interface LocatedProblem extends Problem {
  readonly file: string;
  readonly line?: number;
}

export const problem = (path: FieldPath, message: string, hint: string): Problem =>
  ({ path, message, hint, severity: 'error' });

export const warning = (path: FieldPath, message: string, hint: string): Problem =>
  ({ path, message, hint, severity: 'warning' });

/** nodes[2].address: the spelling a user sees in messages. */
export function formatPath(path: FieldPath): string {
  return path.reduce<string>((text, part) =>
    typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${part}` : part, '');
}

export function formatProblem(p: LocatedProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}`;
  const subject = p.path.length ? `${formatPath(p.path)}:` : 'the file';
  const label = p.severity === 'warning' ? ' warning:' : '';
  return `${where}:${label} ${subject} ${p.message}. ${p.hint}`;
}

/** The cluster file (or its secrets file) cannot be used; carries every problem found. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: readonly LocatedProblem[], options?: ErrorOptions) {
    super(problems.filter((p) => p.severity === 'error').map(formatProblem).join('\n'), options);
  }
}
