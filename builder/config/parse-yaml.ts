// YAML text -> plain data plus a way to find the line of any field. The `yaml` package is used
// (not js-yaml) because it keeps node positions, so every message can name its line.
import { isCollection, LineCounter, parseDocument, type Node } from 'yaml';
import type { FieldPath, Problem } from './problems.js';
import { problem } from './problems.js';
import { explainSyntaxErrors } from './yaml-syntax.js';

export interface ParsedYaml {
  readonly data: unknown;
  /** 1-based line of the field, or of its nearest parent that exists. */
  readonly lineOf: (path: FieldPath) => number | undefined;
}

export type ParseResult = { ok: true; parsed: ParsedYaml } | { ok: false; problems: Problem[]; lines: (number | undefined)[] };

export function parseYaml(text: string): ParseResult {
  const lineCounter = new LineCounter();
  // uniqueKeys: a key given twice is a typo whose second value would silently win.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length) {
    // One message for the first mistake: what a parser says after it is mostly the same mistake again.
    const mistake = explainSyntaxErrors(text, doc.errors);
    return { ok: false, problems: [problem([], mistake.message, mistake.hint)], lines: [mistake.line] };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, problems: [problem([], `cannot be read: ${firstLine(String((error as Error).message))}`,
      'Avoid deeply nested aliases; write the values out.')], lines: [undefined] };
  }
  const lineOf = (path: FieldPath): number | undefined => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = doc.getIn(path.slice(0, depth), true) as Node | undefined;
      if (node && typeof node === 'object' && 'range' in node && node.range) {
        // For a collection the key's line is more useful than its first child's.
        const pair = depth > 0 ? findPairLine(doc, path.slice(0, depth), lineCounter) : undefined;
        return pair ?? lineCounter.linePos(node.range[0]).line;
      }
    }
    return undefined;
  };
  return { ok: true, parsed: { data, lineOf } };
}

function findPairLine(doc: ReturnType<typeof parseDocument>, path: FieldPath, counter: LineCounter): number | undefined {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const last = path[path.length - 1];
  if (!isCollection(parent) || typeof last !== 'string') return undefined;
  for (const item of parent.items) {
    const key = (item as { key?: { value?: unknown; range?: [number, number, number] } }).key;
    if (key?.value === last && key.range) return counter.linePos(key.range[0]).line;
  }
  return undefined;
}

const firstLine = (text: string): string =>
  text.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '').replace(/\.$/, '');
