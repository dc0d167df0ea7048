// Schema check: ajv with every error at once, each turned into a Problem a person can act on.
import { Ajv, type ErrorObject } from 'ajv';
import { isIPv6 } from 'node:net';
import { isIPv4, isIPv6Cidr, parseCidr, parseEndpoint, parseRange } from './ipv4.js';
import { clusterSchema } from './schema.js';
import { problem, type FieldPath, type Problem } from './problems.js';

const ajv = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true, strict: true });
ajv.addFormat('ipv4', isIPv4);
ajv.addFormat('ip', (text: string) => isIPv4(text) || isIPv6(text));
ajv.addFormat('ipv4-cidr', (text: string) => parseCidr(text) !== undefined);
ajv.addFormat('ipv4-range', (text: string) => parseRange(text) !== undefined);
ajv.addFormat('ipv6-cidr', isIPv6Cidr);
ajv.addFormat('ipv4-port', (text: string) => parseEndpoint(text) !== undefined);
ajv.addKeyword({ keyword: 'hint', schemaType: 'string' });
const validate = ajv.compile(clusterSchema);

export function checkSchema(raw: unknown): Problem[] {
  if (validate(raw)) return [];
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const error of validate.errors ?? []) {
    const translated = translate(error);
    const key = `${translated.path.join('\u0000')}|${translated.message}`;
    if (!seen.has(key)) problems.push(translated);
    seen.add(key);
  }
  return problems;
}

function toPath(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath.slice(1).split('/').map((part) => {
    const unescaped = part.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^\d+$/.test(unescaped) ? Number(unescaped) : unescaped;
  });
}

/** Shows a value the way it appeared, short enough for one line. */
export function showValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

type Schemaish = { hint?: string; properties?: Record<string, Schemaish> };

function translate(error: ErrorObject): Problem {
  const path: FieldPath = toPath(error.instancePath);
  const schema = (error.parentSchema ?? {}) as Schemaish;
  const hint = schema.hint ?? 'Check this field against the examples in examples/.';
  const value = showValue(error.data);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      const childHint = schema.properties?.[missing]?.hint ?? 'Add it.';
      return problem([...path, missing], 'is required but missing', childHint);
    }
    case 'additionalProperties': {
      const unknown = String(params.additionalProperty);
      const known = Object.keys(schema.properties ?? {});
      const closest = closestName(unknown, known);
      return problem([...path, unknown], 'is not a known field',
        closest ? `Did you mean "${closest}"?` : `Known fields here: ${known.join(', ')}.`);
    }
    case 'type':
      return problem(path, `${value} should be ${article(String(params.type))}`, hint);
    case 'enum':
      return problem(path, `${value} is not one of ${(params.allowedValues as unknown[]).map(showValue).join(', ')}`, hint);
    case 'minItems':
      return problem(path, `needs at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`, hint);
    case 'minLength':
      return problem(path, 'is empty', hint);
    case 'maxLength':
      return problem(path, `${value} is longer than ${String(params.limit)} characters`, hint);
    case 'minimum':
    case 'maximum':
      return problem(path, `${value} is ${error.keyword === 'minimum' ? 'below' : 'above'} ${String(params.limit)}`, hint);
    default: // pattern, format, integer-ness and anything else: the value is malformed
      return problem(path, `${value} is not valid here`, hint);
  }
}

function article(type: string): string {
  const names = type.split(',').map((t) => (t === 'object' ? 'a mapping' : t === 'array' ? 'a list' : `a ${t}`));
  return names.join(' or ');
}

/** The known field within two edits of a typo, if there is exactly one best. */
export function closestName(typo: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of known) {
    const distance = editDistance(typo.toLowerCase(), name.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [name, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
