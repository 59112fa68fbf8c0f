import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { describeExpectation, describeValue, formatKeyPath } from '../config-issues.js';
import { InputError } from '../errors.js';
import { abResultsSchema, buildResultsSchema, interferenceSchema } from '../results-schema.js';
import type { AbResults, BuildResults, InterferenceRecord } from '../results.js';

const SCHEMAS = ['kiln.build-results/v1', 'kiln.ab-results/v1', 'kiln.interference/v1'];
const WRITERS = '(a file written by kiln build/bench --json or kiln-agent run)';

export interface ResultsSet {
  builds: BuildResults[];
  ab: AbResults[];
  interference: InterferenceRecord[];
}

/**
 * Reads a results file written by `kiln build --json` or `kiln bench --json`: one object or an
 * array of them, told apart by their `schema` field. Anything else is refused by name.
 */
export async function readResultsFile(file: string): Promise<ResultsSet> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(
      `${file}: ${code === 'ENOENT' ? 'file not found' : `not valid JSON (${(error as Error).message})`}`,
      { cause: error },
    );
  }
  const set: ResultsSet = { builds: [], ab: [], interference: [] };
  const list = Array.isArray(data) ? data : [data];
  list.forEach((entry, i) => {
    const at: PropertyKey[] = Array.isArray(data) ? [i] : [];
    const schema = (entry as { schema?: unknown } | null)?.schema;
    if (schema === 'kiln.build-results/v1') {
      set.builds.push(validated(file, at, buildResultsSchema, entry) as BuildResults);
    } else if (schema === 'kiln.ab-results/v1') {
      set.ab.push(validated(file, at, abResultsSchema, entry) as AbResults);
    } else if (schema === 'kiln.interference/v1') {
      set.interference.push(validated(file, at, interferenceSchema, entry) as InterferenceRecord);
    } else {
      const isObject = typeof entry === 'object' && entry !== null && !Array.isArray(entry);
      const expected = `"${SCHEMAS.join('", "')}"`;
      throw new InputError(
        isObject
          ? `${file}: ${formatKeyPath([...at, 'schema'])}: found ${describeValue(schema)}, expected one of ${expected} ${WRITERS}`
          : `${file}: ${formatKeyPath(at)}: found ${describeValue(entry)}, expected an object whose schema is one of ${expected} ${WRITERS}`,
      );
    }
  });
  return set;
}

/** `entry` checked against `schema`; the first problem is one line: `<file>: <key path>: found X, expected Y`. */
function validated(file: string, at: PropertyKey[], schema: z.ZodType, entry: unknown): unknown {
  const parsed = schema.safeParse(entry, { reportInput: true });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const more = parsed.error.issues.length > 1 ? ` (+${parsed.error.issues.length - 1} more)` : '';
  throw new InputError(
    `${file}: ${formatKeyPath([...at, ...issue.path])}: found ${describeValue(issue.input)}, ${describeExpectation(issue, undefined)}${more}`,
    { cause: parsed.error },
  );
}
