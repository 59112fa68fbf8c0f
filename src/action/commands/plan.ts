import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError, KilnError } from '../../core/errors.js';
import type { ActionIO } from '../action-io.js';
import type { ActionInputs } from '../inputs.js';
import type { KilnRunner } from '../kiln-process.js';
import type { RunContext } from '../run-context.js';

export interface Matrix {
  include: Array<{ target: string; 'runs-on': string[]; model: string; backend: string }>;
}

/**
 * `plan`: which models changed against the merge base (pull requests) or every model (tags and
 * other pushes), as the `matrix` output for `strategy.matrix: ${{ fromJSON(...) }}`.
 */
export async function planCommand(deps: {
  inputs: ActionInputs;
  context: RunContext;
  kiln: KilnRunner;
  io: ActionIO;
  tempDir: string;
}): Promise<Matrix> {
  const { inputs, context, io } = deps;
  const out = path.join(deps.tempDir, 'kiln-plan.json');
  const base = inputs.base || context.pullRequest?.baseSha;
  const scope = base ? ['--base', base] : ['--all'];
  const run = await deps.kiln.run(['plan', '--config', inputs.config, ...scope, '--json', out]);
  if (run.exitCode !== 0) {
    throw new KilnError(`kiln plan failed: ${run.reason ?? `exit code ${run.exitCode}`}`, {
      exitCode: run.exitCode === 1 ? 1 : 2,
    });
  }
  let matrix: Matrix;
  try {
    matrix = JSON.parse(await readFile(out, 'utf8')) as Matrix;
  } catch (error) {
    throw new InputError(`${out}: kiln plan wrote no readable matrix`, { cause: error });
  }
  io.setOutput('matrix', JSON.stringify(matrix));
  io.info(
    matrix.include.length === 0
      ? 'kiln plan: no model or kiln.yaml change needs engines'
      : `kiln plan: ${matrix.include.length} build job(s): ${matrix.include.map((j) => `${j.model}@${j.target}`).join(', ')}`,
  );
  return matrix;
}
