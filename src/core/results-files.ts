import { readFile } from 'node:fs/promises';
import { InputError } from './errors.js';
import type { AbResults, BuildResults, InterferenceRecord } from './results.js';

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
    const schema = (entry as { schema?: unknown } | null)?.schema;
    if (schema === 'kiln.build-results/v1' && Array.isArray((entry as BuildResults).engines)) {
      set.builds.push(entry as BuildResults);
    } else if (schema === 'kiln.ab-results/v1' && Array.isArray((entry as AbResults).comparisons)) {
      set.ab.push(entry as AbResults);
    } else if (schema === 'kiln.interference/v1' && Array.isArray((entry as InterferenceRecord).events)) {
      set.interference.push(entry as InterferenceRecord);
    } else {
      throw new InputError(
        `${file}: ${Array.isArray(data) ? `[${i}].` : ''}schema: found ${JSON.stringify(schema)}, expected "kiln.build-results/v1", "kiln.ab-results/v1" or "kiln.interference/v1" (a file written by kiln build/bench --json or kiln-agent run)`,
      );
    }
  });
  return set;
}
