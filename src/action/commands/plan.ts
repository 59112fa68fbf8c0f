import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BuildMatrix } from '../../core/build-matrix.js';
import { firstLine } from '../../core/errors.js';
import { planFromRepo, type PlanScope } from '../../cli/plan-matrix.js';
import type { ActionIO } from '../action-io.js';
import type { ActionInputs } from '../inputs.js';
import { PLAN_ARTIFACT, type ResultsTransfer } from '../results-transfer.js';
import type { RunContext } from '../run-context.js';

export type Matrix = BuildMatrix;

/** What the plan artifact's pull-request.json holds: which pull request a `workflow_run` reports on. */
export interface PlannedPullRequest {
  number: number;
  headSha: string;
}

/**
 * `plan`: which models changed against the merge base (pull requests) or every model (tags and
 * other pushes), as the `matrix` output for `strategy.matrix: ${{ fromJSON(...) }}`. Runs in the
 * Action's own process (git + kiln.yaml + paths; no model is opened), so the plan job needs no kiln
 * install. On a pull request the matrix also goes up as the `kiln-plan` artifact, for a report that
 * runs in another workflow (`workflow_run`, docs/forks.md).
 */
export async function planCommand(deps: {
  inputs: ActionInputs;
  context: RunContext;
  io: ActionIO;
  tempDir: string;
  transfer: ResultsTransfer;
}): Promise<Matrix> {
  const { inputs, context, io } = deps;
  const base = inputs.base || context.pullRequest?.baseSha;
  const scope: PlanScope = base ? { base } : { all: true };
  const { matrix, summary } = await planFromRepo(inputs.config, scope);
  io.info(summary.trimEnd());
  io.setOutput('matrix', JSON.stringify(matrix));
  io.info(
    matrix.include.length === 0
      ? 'kiln plan: no model or kiln.yaml change needs engines'
      : `kiln plan: ${matrix.include.length} build job(s): ${matrix.include.map((j) => `${j.model}@${j.target}`).join(', ')}`,
  );
  const pr = context.pullRequest;
  if (pr) {
    // Only a workflow_run report of a fork's pull request needs this (GitHub names no pull request
    // for those runs); without it that report fails closed, so a failed upload is a warning here.
    const planned: PlannedPullRequest = { number: pr.number, headSha: pr.headSha };
    await uploadPlan(deps, matrix, planned).catch((error: unknown) =>
      io.warning(`kiln plan: the ${PLAN_ARTIFACT} artifact was not uploaded: ${firstLine(error)}`),
    );
  }
  return matrix;
}

async function uploadPlan(
  deps: { tempDir: string; transfer: ResultsTransfer },
  matrix: Matrix,
  planned: PlannedPullRequest,
): Promise<void> {
  const dir = path.join(deps.tempDir, PLAN_ARTIFACT);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'matrix.json'), JSON.stringify(matrix));
  await writeFile(path.join(dir, 'pull-request.json'), JSON.stringify(planned));
  await deps.transfer.upload(
    PLAN_ARTIFACT,
    ['matrix.json', 'pull-request.json'].map((f) => path.join(dir, f)),
    dir,
  );
}
