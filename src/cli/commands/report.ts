import { writeFile } from 'node:fs/promises';
import { readResultsFile } from '../../core/io/results-files.js';
import { InputError } from '../../core/errors.js';
import { renderBuildReport } from '../../core/report/report-markdown.js';
import type { BuildResults } from '../../core/results.js';
import type { CommandArgs } from '../command-spec.js';
import type { reportOptions } from '../specs/report.js';

export const reportUsage = 'kiln report RESULTS.json... [--out FILE]';

/** `kiln report`: the Markdown report from one or more `kiln build --json` files. */
export async function reportCommand({
  values,
  positionals,
}: CommandArgs<typeof reportOptions>): Promise<number> {
  if (positionals.length === 0)
    throw new InputError(`kiln report: no results files given (usage: ${reportUsage})`);
  const results: BuildResults[] = [];
  for (const file of positionals) results.push(...(await readResultsFile(file)).builds);
  const markdown = renderBuildReport(results);
  if (values.out) await writeFile(values.out, markdown);
  else process.stdout.write(markdown);
  return 0;
}
