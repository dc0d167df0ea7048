// MicroCloud's disk filter (`storage.*[].find`), parsed here so a mistake is caught at build
// time, not inside `microcloud preseed` on the Pi. The grammar is LXD's shared/filter (Parse,
// Match) with MicroCloud's operator set: words split on whitespace, clauses `[!] field op value`
// joined by && or ||, evaluated strictly left to right, no parentheses, no precedence.
// Field types are LXD's ResourcesStorageDisk; `size` takes units.ParseByteSizeString suffixes.
import { closestName } from './check-schema.js';

type FieldType = 'string' | 'bool' | 'uint' | 'size';

/** LXD's /1.0/resources disk fields a filter can compare (slices such as partitions cannot). */
export const DISK_FIELDS: Readonly<Record<string, FieldType>> = {
  id: 'string', device: 'string', model: 'string', type: 'string', read_only: 'bool', mounted: 'bool',
  size: 'size', removable: 'bool', wwn: 'string', numa_node: 'uint', device_path: 'string',
  block_size: 'uint', firmware_version: 'string', rpm: 'uint', serial: 'string', device_id: 'string',
  pci_address: 'string', usb_address: 'string', device_fs_uuid: 'string', used_by: 'string',
};

const COMPARISONS = ['==', '!=', '<', '>', '<=', '>='] as const;
type Comparison = (typeof COMPARISONS)[number];
const ORDERING: readonly string[] = ['<', '>', '<=', '>='];
const LOGICAL = ['&&', '||'] as const;
const QUOTES = ['"', "'"] as const;

// Go's strconv.ParseBool and LXD's byte-size suffixes (units.ParseByteSizeString).
const BOOLS = ['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'];
const SIZE_SUFFIXES: Readonly<Record<string, number>> = {
  '': 1, B: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, PB: 1e15, EB: 1e18,
  KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40, PiB: 2 ** 50, EiB: 2 ** 60,
};

export interface FilterClause {
  readonly join: '&&' | '||';
  readonly not: boolean;
  readonly field: string;
  readonly op: Comparison;
  readonly value: string;
}

/** What is wrong with a filter, and what to do: the caller adds the field path. */
export interface FilterMistake { readonly message: string; readonly hint: string }

export type FilterParse =
  | { ok: true; clauses: FilterClause[]; warnings: FilterMistake[] }
  | { ok: false; mistake: FilterMistake };

const FIELD_LIST = Object.keys(DISK_FIELDS).join(', ');
const fail = (message: string, hint: string): FilterParse => ({ ok: false, mistake: { message, hint } });

export function parseDiskFilter(text: string): FilterParse {
  const words = text.split(/\s+/).filter(Boolean);
  if (words.length === 0) return fail('is empty', 'Write an expression such as: type == usb && size > 100GiB.');
  const paren = words.find((w) => w.startsWith('(') || w.endsWith(')'));
  if (paren) return fail(`uses a parenthesis ("${paren}"), which MicroCloud's disk filter does not have`,
    'Clauses are combined strictly left to right (a || b && c means (a || b) && c): reorder them, or use two filters.');
  const clauses: FilterClause[] = [];
  let join: '&&' | '||' = '&&';
  let i = 0;
  while (i < words.length) {
    const not = words[i] === '!';
    if (not) i++;
    const field = words[i];
    if (field === undefined) return fail('ends with "!"', 'Follow ! with a clause, e.g. ! mounted == true.');
    const glued = gluedOperator(field);
    if (glued) return fail(`has "${field}" as one word`,
      `Put spaces around every operator, e.g. "${glued}": MicroCloud splits the filter at spaces.`);
    const fieldProblem = checkField(field);
    if (fieldProblem) return { ok: false, mistake: fieldProblem };
    const op = words[i + 1];
    if (op === undefined) return fail(`ends after the field "${field}"`, `Add an operator and a value, e.g. ${field} == ...`);
    if (!(COMPARISONS as readonly string[]).includes(op))
      return fail(`has "${op}" where a comparison belongs`, `Use one of ${COMPARISONS.join(' ')} after "${field}".`);
    if (words[i + 2] === undefined) return fail(`ends after "${field} ${op}"`, 'Add the value to compare with.');
    const read = readValue(words, i + 2);
    if ('mistake' in read) return { ok: false, mistake: read.mistake };
    const clause: FilterClause = { join, not, field, op: op as Comparison, value: read.value };
    const valueProblem = checkValue(clause);
    if (valueProblem) return { ok: false, mistake: valueProblem };
    clauses.push(clause);
    i = read.next;
    if (i < words.length) {
      const logical = words[i]!;
      if (!(LOGICAL as readonly string[]).includes(logical))
        return fail(`has "${logical}" after the clause "${field} ${op} ${read.value}"`,
          'Join clauses with && or ||, each as its own word.');
      join = logical as '&&' | '||';
      i++;
      if (i === words.length) return fail(`ends with "${logical}"`, 'Add the next clause or remove the operator.');
    }
  }
  return { ok: true, clauses, warnings: precedenceWarning(clauses) };
}

/** A whole word such as `size>100GiB` or `!mounted`, which LXD reads as a field name. */
function gluedOperator(word: string): string | undefined {
  if (word.length > 1 && word.startsWith('!')) return `! ${word.slice(1)}`;
  const match = /^([a-z_]+)(==|!=|<=|>=|<|>)(.+)$/.exec(word);
  return match ? `${match[1]} ${match[2]} ${match[3]}` : undefined;
}

function checkField(field: string): FilterMistake | undefined {
  if (field in DISK_FIELDS) return undefined;
  const closest = closestName(field, Object.keys(DISK_FIELDS));
  return {
    message: `compares "${field}", which is not a disk field`,
    hint: closest ? `Did you mean "${closest}"? Disk fields: ${FIELD_LIST}.` : `Disk fields: ${FIELD_LIST}.`,
  };
}

/** LXD's quoting: a value that opens a quote runs until a later word that closes it. */
function readValue(words: readonly string[], at: number): { value: string; next: number } | { mistake: FilterMistake } {
  let value = words[at]!;
  let index = at;
  for (const quote of QUOTES) {
    if (!value.startsWith(quote)) continue;
    if (value.length > 1 && value.endsWith(quote))
      return { mistake: { message: `quotes the single word ${value}`,
        hint: 'MicroCloud only closes a quote in a later word: write the value without quotes (quotes are for values with spaces).' } };
    value = value.slice(1);
    for (;;) {
      index++;
      const word = words[index];
      if (word === undefined) return { mistake: { message: `opens a quote (${quote}) that is never closed`,
        hint: `Close it at the end of the value, e.g. model == ${quote}Samsung SSD${quote}.` } };
      if (word.endsWith(quote)) { value += ` ${word.slice(0, -1)}`; break; }
      value += ` ${word}`;
    }
  }
  return { value, next: index + 1 };
}

function checkValue(clause: FilterClause): FilterMistake | undefined {
  const type = DISK_FIELDS[clause.field]!;
  const where = `${clause.field} ${clause.op} ${clause.value}`;
  if (ORDERING.includes(clause.op) && (type === 'string' || type === 'bool'))
    return { message: `compares the ${type === 'bool' ? 'true/false' : 'text'} field ${clause.field} with ${clause.op}`,
      hint: `Only numbers (size, numa_node, block_size, rpm) can use ${ORDERING.join(' ')}; use == or != here.` };
  if (type === 'bool' && !BOOLS.includes(clause.value))
    return { message: `"${where}" compares with ${clause.value}, not true or false`, hint: `Write ${clause.field} == true or ${clause.field} == false.` };
  if (type === 'uint' && !/^\d+$/.test(clause.value))
    return { message: `"${where}" needs a whole number`, hint: `Write a number without units, e.g. ${clause.field} == 0.` };
  if (type === 'size' && parseByteSize(clause.value) === undefined)
    return { message: `"${where}" is not a size MicroCloud understands`,
      hint: `Write a whole number with one of the units ${Object.keys(SIZE_SUFFIXES).filter(Boolean).join(', ')}, e.g. size > 100GiB (no decimals, no space).` };
  return undefined;
}

/** Bytes of an LXD size string such as 100GiB or 2TB; undefined when LXD would refuse it. */
export function parseByteSize(text: string): number | undefined {
  const match = /^(\d+)([A-Za-z]*)$/.exec(text);
  if (!match) return undefined;
  const unit = SIZE_SUFFIXES[match[2]!];
  return unit === undefined ? undefined : Number(match[1]) * unit;
}

/** `a || b && c` means (a || b) && c to MicroCloud, not a || (b && c) as in most languages. */
function precedenceWarning(clauses: readonly FilterClause[]): FilterMistake[] {
  const firstOr = clauses.findIndex((c) => c.join === '||');
  if (firstOr === -1 || !clauses.slice(firstOr + 1).some((c) => c.join === '&&')) return [];
  return [{ message: 'mixes || before && and MicroCloud reads it strictly left to right ((a || b) && c)',
    hint: 'Check that this is what you mean; write the && clauses first when in doubt.' }];
}

/** A disk as LXD's resources API describes it, by the fields a filter compares. */
export type DiskFacts = Readonly<Partial<Record<keyof typeof DISK_FIELDS, string | number | boolean>>>;

const TRUE_WORDS = ['1', 't', 'T', 'TRUE', 'true', 'True'];

function clauseHolds(clause: FilterClause, disk: DiskFacts): boolean {
  const type = DISK_FIELDS[clause.field]!;
  const have = disk[clause.field];
  let order: number; // sign of (disk's value - clause's value)
  if (type === 'bool') order = Number(have === true) - Number(TRUE_WORDS.includes(clause.value));
  else if (type === 'string') order = String(have ?? '') === clause.value ? 0 : 1;
  else {
    const want = type === 'size' ? parseByteSize(clause.value)! : Number(clause.value);
    order = Math.sign(Number(have ?? 0) - want);
  }
  const holds = { '==': order === 0, '!=': order !== 0, '<': order < 0, '>': order > 0, '<=': order <= 0, '>=': order >= 0 }[clause.op];
  return clause.not ? !holds : holds;
}

/** LXD's Match: the clauses of a parsed filter, strictly left to right, over one disk. */
export function diskMatches(clauses: readonly FilterClause[], disk: DiskFacts): boolean {
  let result = true;
  for (const [i, clause] of clauses.entries()) {
    const holds = clauseHolds(clause, disk);
    result = i === 0 ? holds : clause.join === '&&' ? result && holds : result || holds;
  }
  return result;
}
