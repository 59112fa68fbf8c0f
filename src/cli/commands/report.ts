import { readFile, writeFile } from 'node:fs/promises';
import { InputError } from '../../core/errors.js';
import { renderBuildReport } from '../../core/report-markdown.js';
import type { BuildResults } from '../../core/results.js';
import { commonOptions, parseCommandArgs } from '../args.js';

export const reportUsage = 'kiln report RESULTS.json... [--out FILE]';

/** `kiln report`: the Markdown report from one or more `kiln build --json` files. */
export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'report',
    argv,
    { ...commonOptions, out: { type: 'string', short: 'o' } },
    true,
  );
  if (positionals.length === 0)
    throw new InputError(`kiln report: no results files given (usage: ${reportUsage})`);
  const results: BuildResults[] = [];
  for (const file of positionals) results.push(...(await readResults(file)));
  const markdown = renderBuildReport(results);
  if (values.out) await writeFile(values.out, markdown);
  else process.stdout.write(markdown);
  return 0;
}

/** Reads a results file: one BuildResults object or an array of them. */
export async function readResults(file: string): Promise<BuildResults[]> {
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
  const list = Array.isArray(data) ? data : [data];
  list.forEach((entry, i) => {
    const schema = (entry as { schema?: unknown } | null)?.schema;
    if (schema !== 'kiln.build-results/v1' || !Array.isArray((entry as { engines?: unknown }).engines)) {
      throw new InputError(
        `${file}: ${Array.isArray(data) ? `[${i}].` : ''}schema: found ${JSON.stringify(schema)}, expected "kiln.build-results/v1" (a file written by kiln build --json)`,
      );
    }
  });
  return list as BuildResults[];
}
