// A YAML syntax error said as a person would: at the line that is wrong, in words about what is
// on it, once per mistake. The parser's first error decides; the one thing a parser reports a
// line early (a key indented one space too far reads as the line above's value) is found by
// looking at the indentation itself. Pure.
import type { YAMLError } from 'yaml';

export interface SyntaxMistake {
  /** 1-based line of the mistake, when known. */
  readonly line?: number;
  /** Follows "the file " in the message. */
  readonly message: string;
  readonly hint: string;
}

const GENERIC_HINT = 'Fix the YAML syntax at that line (indentation, a missing colon, an unclosed quote).';
const spaces = (n: number) => `${n} space${n === 1 ? '' : 's'}`;

/** The one mistake to report for a file the parser refused with `errors`. */
export function explainSyntaxErrors(text: string, errors: readonly YAMLError[]): SyntaxMistake {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (errors.some((e) => e.code === 'TAB_AS_INDENT')) {
    const tabbed = lines.flatMap((l, i) => (/^ *\t/.test(l) ? [i + 1] : []));
    if (tabbed.length) {
      const others = tabbed.slice(1);
      return {
        line: tabbed[0]!,
        message: `is not valid YAML: this line is indented with a tab${others.length ? ` (so ${others.length === 1 ? 'is line' : 'are lines'} ${others.slice(0, 8).join(', ')}${others.length > 8 ? ', ...' : ''})` : ''}`,
        hint: 'YAML indents with spaces only: replace each tab at the start of a line with spaces (editors have a setting that makes Tab insert spaces).',
      };
    }
  }
  const first = errors[0];
  const errorLine = first?.linePos?.[0].line;
  const indentation = indentationMistake(lines);
  if (indentation && (errorLine === undefined || errorLine >= indentation.from)) return indentation;
  if (!first) return { message: 'is not valid YAML', hint: GENERIC_HINT };
  return reworded(first, lines, errorLine);
}

// ---- indentation ------------------------------------------------------------------------

const KEY = /^((?:"[^"]*"|'[^']*'|[^\s#'"[\]{},][^#]*?))\s*:(?:\s+(.*))?$/;
const BLOCK_SCALAR = /^[|>][-+0-9]*\s*(#.*)?$/;

interface Level { readonly col: number; readonly label: string; readonly line: number }
type Finding = SyntaxMistake & { readonly line: number; /** The first line the mistake involves. */ readonly from: number };

const stripComment = (s: string) => s.replace(/(^|\s)#.*$/, '').trimEnd();
const keyName = (k: string) => k.replace(/^["']|["']$/g, '');

/** Whether a line holds what this simple reading does not follow (flow collections over lines, open quotes, complex keys). */
function beyondReading(content: string): boolean {
  const unquoted = content.replace(/"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'/g, '""');
  if (/["']/.test(stripComment(unquoted))) return true;
  const code = stripComment(unquoted);
  const count = (re: RegExp) => (code.match(re) ?? []).length;
  return count(/[[{]/g) !== count(/[\]}]/g) || /^\?(\s|$)/.test(content);
}

/** The first line whose indentation no YAML reading allows, with the line that makes it wrong. */
export function indentationMistake(lines: readonly string[]): Finding | undefined {
  let levels: Level[] = [{ col: 0, label: 'the top level', line: 0 }];
  let opens: { col: number } | undefined; // the previous line was `key:` (or `-`) with its value below
  let owner: { col: number; line: number; name: string } | undefined; // the previous line was `key: value`
  let blockScalarAbove: number | undefined;
  for (let n = 1; n <= lines.length; n++) {
    const text = lines[n - 1]!;
    if (!text.trim() || /^\s*#/.test(text)) continue;
    const indent = text.length - text.trimStart().length;
    if (/^\s*\t/.test(text)) return undefined;
    if (blockScalarAbove !== undefined && indent > blockScalarAbove) continue;
    blockScalarAbove = undefined;
    const content = text.trimStart();
    if (/^(---|\.\.\.)(\s|$)|^%/.test(content)) {
      [levels, opens, owner] = [[{ col: 0, label: 'the top level', line: 0 }], undefined, undefined];
      continue;
    }
    if (beyondReading(content)) return undefined;
    const base = levels[0]!;
    if (base.line === 0 && levels.length === 1 && !opens && !owner && indent > 0) levels = [{ ...base, col: indent, line: n }];
    else if (base.line > 0 && base.col > 0 && indent < base.col && levels.length >= 1) {
      const first = KEY.exec(stripComment(lines[base.line - 1]!.trim().replace(/^(-\s+)+/, '')));
      const what = first ? `"${keyName(first[1]!)}"` : 'the first line';
      return { line: base.line, from: base.line, message: `is not valid YAML: ${what} is indented ${spaces(base.col)}, more than the lines below it (line ${n} at ${spaces(indent)})`,
        hint: `Top-level fields start at the first column: remove the ${spaces(base.col)} before ${what}.` };
    }
    const afterDashes = content.replace(/^(-(\s+|$))+/, '');
    const key = KEY.exec(stripComment(afterDashes));
    if (owner && indent > owner.col) {
      if (!key && !content.startsWith('- ')) continue; // a plain value going on over lines
      const what = key ? `"${keyName(key[1]!)}"` : 'this list item';
      return {
        line: n, from: owner.line,
        message: `is not valid YAML: ${what} is indented ${spaces(indent)}, more than "${owner.name}" on line ${owner.line} (${spaces(owner.col)}), `
          + `so it reads as part of ${owner.name}'s value`,
        hint: `Line up the fields of one mapping: indent ${what} by ${spaces(owner.col)}, like "${owner.name}".`,
      };
    }
    const top = levels[levels.length - 1]!;
    if (opens && (indent > opens.col || (indent === opens.col && content.startsWith('-')))) {
      if (indent > top.col) levels.push({ col: indent, label: content.startsWith('-') ? `the list item on line ${n}` : `"${keyName(key?.[1] ?? '')}"`, line: n });
    } else if (indent > top.col) {
      return undefined; // not a mistake this reading can name; the parser's message stands
    } else {
      const popped: Level[] = [];
      while (levels.length > 1 && levels[levels.length - 1]!.col > indent) popped.push(levels.pop()!);
      const at = levels[levels.length - 1]!;
      if (at.col !== indent) {
        const what = key ? `"${keyName(key[1]!)}"` : 'this line';
        const nearest = popped[popped.length - 1] ?? at;
        const around = [nearest, ...(nearest === at ? [] : [at])]
          .map((l) => `${l.label}${l.line && !l.label.includes('line') ? ` (line ${l.line})` : ''} is at ${spaces(l.col)}`);
        // A field may go beside another field, not beside a list item.
        const beside = [nearest, ...(nearest === at ? [] : [at])].filter((l) => !key || !l.label.startsWith('the list item'));
        return {
          line: n, from: n,
          message: `is not valid YAML: ${what} is indented ${spaces(indent)}, which lines up with nothing above it: ${around.join(', ')}`,
          hint: beside.length ? `Indent ${what} by ${beside.map((l) => `${spaces(l.col)} to put it beside ${l.label}`).join(', or by ')}.`
            : `Indent ${what} like the line it belongs with.`,
        };
      }
      if (content.startsWith('-')) levels[levels.length - 1] = { ...at, label: `the list item on line ${n}`, line: n };
    }
    // What this line opens for the lines below it.
    let col = indent;
    let rest = content;
    for (let dash = /^-(\s+|$)/.exec(rest); dash; dash = /^-(\s+|$)/.exec(rest)) {
      col += dash[0].length;
      rest = rest.slice(dash[0].length);
      if (rest && col > levels[levels.length - 1]!.col) levels.push({ col, label: `the list item on line ${n}`, line: n });
    }
    const here = levels[levels.length - 1]!;
    if (key && here.col === col) levels[levels.length - 1] = { col, label: `"${keyName(key[1]!)}"`, line: n };
    const value = key ? (key[2] ?? '') : stripComment(rest);
    [opens, owner] = [undefined, undefined];
    if (key && !stripComment(value)) opens = { col };
    else if (!key && !rest) opens = { col: indent };
    else if (BLOCK_SCALAR.test(value.trim())) blockScalarAbove = indent;
    else if (key) owner = { col, line: n, name: keyName(key[1]!) };
  }
  return undefined;
}

// ---- the parser's first error, in words ---------------------------------------------------------

function reworded(error: YAMLError, lines: readonly string[], line: number | undefined): SyntaxMistake {
  const at = line ? lines[line - 1]?.trim() ?? '' : '';
  const message = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '').replace(/\.$/, '');
  const quote = /Missing closing (["'])quote/.exec(message)?.[1];
  if (quote) {
    const opened = lastLineWith(lines, line ?? lines.length, (l) => unclosed(l, quote));
    return { ...(opened ? { line: opened } : line ? { line } : {}), message: `is not valid YAML: the ${quote} opened on this line is never closed`,
      hint: `Close the quote on the same line (or remove it): a quoted value ends at the next ${quote}.` };
  }
  const flow = /Flow (map|sequence) in block collection/.exec(message)?.[1];
  if (flow) {
    const [open, close] = flow === 'map' ? ['{', '}'] : ['[', ']'];
    const opened = lastLineWith(lines, line ?? lines.length, (l) => l.split(open).length > l.split(close).length);
    return { ...(opened ? { line: opened } : line ? { line } : {}), message: `is not valid YAML: the "${open}" on this line is not closed with "${close}"`,
      hint: `Close it with "${close}" on the same line, or write the ${flow === 'map' ? 'fields' : 'items'} as indented lines instead.` };
  }
  const where = line ? { line } : {};
  switch (error.code) {
    case 'DUPLICATE_KEY': {
      const name = keyName(KEY.exec(stripComment(at.replace(/^(-\s+)+/, '')))?.[1] ?? '');
      const indent = (lines[(line ?? 1) - 1] ?? '').search(/\S/);
      const firstAt = name ? lines.findIndex((l, i) => i < (line ?? 0) - 1 && l.search(/\S/) === indent
        && keyName(KEY.exec(stripComment(l.trim().replace(/^(-\s+)+/, '')))?.[1] ?? '') === name) + 1 : 0;
      return { ...where, message: `is not valid YAML: "${name}" is given twice in one mapping${firstAt ? ` (first on line ${firstAt})` : ''}`,
        hint: 'Keep one of them: the second would silently replace the first.' };
    }
    case 'MULTILINE_IMPLICIT_KEY':
    case 'MISSING_CHAR':
      if (/^[^\s:#]+:[^\s/]/.test(at))
        return { ...where, message: `is not valid YAML: "${at}" has no space after its colon`,
          hint: `Put a space after the colon: "${at.replace(':', ': ')}".` };
      if (at && !at.includes(':') && !at.startsWith('-'))
        return { ...where, message: `is not valid YAML: "${at}" is neither "key: value" nor a list item "- value"`,
          hint: `A colon may be missing after the key: "${at.replace(/^(\S+)\s+/, '$1: ')}".` };
      break;
    case 'BLOCK_AS_IMPLICIT_KEY': {
      const pair = KEY.exec(stripComment(at.replace(/^(-\s+)+/, '')));
      if (pair?.[2] && KEY.test(pair[2]))
        return { ...where, message: `is not valid YAML: the value of "${keyName(pair[1]!)}" holds a colon and a space (${pair[2]})`,
          hint: `Quote the value ("${pair[2]}") if the colon belongs to it; otherwise put it on a line of its own.` };
      break;
    }
    case 'BAD_SCALAR_START':
      return { ...where, message: `is not valid YAML: ${message.replace(/^Plain value cannot start with reserved character/, 'a value cannot start with')} unless it is quoted`,
        hint: 'Put the value in quotes.' };
    case 'BAD_DQ_ESCAPE':
      return { ...where, message: `is not valid YAML: ${message.replace(/^Invalid escape sequence (.*)$/, '"$1" is not an escape YAML knows inside double quotes')}`,
        hint: 'Use single quotes for text with backslashes, or write \\\\ for one backslash.' };
    default:
  }
  return { ...where, message: `is not valid YAML: ${message}`, hint: GENERIC_HINT };
}

/** Whether `quote` opens on this line and is not closed on it. */
function unclosed(line: string, quote: string): boolean {
  const body = stripComment(line.replace(quote === '"' ? /\\./g : /''/g, ''));
  return (body.split(quote).length - 1) % 2 === 1;
}

function lastLineWith(lines: readonly string[], upTo: number, test: (line: string) => boolean): number | undefined {
  for (let n = Math.min(upTo, lines.length); n >= 1; n--) if (test(lines[n - 1]!)) return n;
  return undefined;
}
