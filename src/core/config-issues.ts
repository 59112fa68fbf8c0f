import type { z } from 'zod';

/** `models[0].profiles[1].shapes.x` from a zod issue path. */
export function formatKeyPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && /^[A-Za-z_$][\w$-]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out || '(top level)';
}

/** A short, single-line rendering of a found value. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (key missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return shorten(JSON.stringify(value));
  if (typeof value === 'object') return `an object with keys ${Object.keys(value).join(', ') || '(none)'}`;
  return shorten(JSON.stringify(value) ?? String(value));
}

function shorten(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > 80 ? `${oneLine.slice(0, 77)}...` : oneLine;
}

/** What the schema expected, phrased for people rather than in zod's terms. */
export function describeExpectation(issue: z.core.$ZodIssue, allowedKeys: string[] | undefined): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected === 'array' ? 'a list' : issue.expected}`;
    case 'invalid_value':
      // A schema's own message (a backend refused by name) says more than the list of values.
      if (!issue.message.startsWith('Invalid')) return issue.message;
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}`;
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const op = issue.code === 'too_small' ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
      const what =
        issue.origin === 'array'
          ? 'a list with length'
          : issue.origin === 'string'
            ? 'a string with length'
            : 'a number';
      return `expected ${what} ${op} ${String(bound)}`;
    }
    case 'unrecognized_keys':
      return allowedKeys ? `expected only ${allowedKeys.join(', ')}` : 'expected no other keys';
    case 'invalid_format':
      // Our regexes carry a human description as their message; zod's default just says "regex".
      return `expected ${issue.format === 'regex' && !issue.message.startsWith('Invalid') ? issue.message : issue.format}`;
    case 'invalid_union':
      return 'expected a fixed profile {name, shapes} or a ranged profile {name, min, opt, max}';
    case 'not_multiple_of':
      return `expected a multiple of ${String(issue.divisor)}`;
    default:
      return `expected ${issue.message}`;
  }
}

/** Keys an object schema allows at `path`, by walking the schema; undefined when unknowable. */
export function allowedKeysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] | undefined {
  let node: unknown = schema;
  for (const part of path) {
    node = unwrap(node);
    const def = (node as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) return undefined;
    if (def.type === 'array' && typeof part === 'number') node = def.element;
    else if (def.type === 'object' && typeof part === 'string')
      node = (def.shape as Record<string, unknown>)[part];
    else if (def.type === 'record') node = def.valueType;
    else return undefined;
  }
  const def = (unwrap(node) as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
  return def?.type === 'object' ? Object.keys(def.shape as object) : undefined;
}

function unwrap(node: unknown): unknown {
  let current = node as { _zod?: { def?: Record<string, unknown> } };
  for (;;) {
    const def = current?._zod?.def;
    if (def && (def.type === 'optional' || def.type === 'default' || def.type === 'nullable')) {
      current = def.innerType as typeof current;
    } else return current;
  }
}
