import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { GateError } from '../../core/errors.js';
import { renderJobSummary, renderPrComment } from '../../core/pr-comment.js';
import type { AbResults, BuildResults } from '../../core/results.js';
import { readResultsFile } from '../../core/results-files.js';
import type { ActionIO } from '../action-io.js';
import type { GitHubApi } from '../github-api.js';
import type { ActionInputs } from '../inputs.js';
import type { ResultsTransfer } from '../results-transfer.js';
import type { RunContext } from '../run-context.js';
import { DEFAULT_MARKER, upsertStickyComment } from '../sticky-comment.js';
import type { Matrix } from './plan.js';

const DEFAULT_LATENCY_GATE = { metric: 'p99', maxRegressionPct: 10, confidence: 0.95 } as const;

/**
 * `report`: every build job's results → one sticky PR comment, the job summary, and a check run whose
 * conclusion gates the merge. A target the plan expected but that uploaded nothing fails the gate.
 */
export async function reportCommand(deps: {
  inputs: ActionInputs;
  context: RunContext;
  github: GitHubApi;
  transfer: ResultsTransfer;
  io: ActionIO;
  tempDir: string;
}): Promise<{ conclusion: string; commentUrl?: string }> {
  const { inputs, context, io } = deps;
  const folders = await deps.transfer.downloadAll(path.join(deps.tempDir, 'kiln-report'));
  const builds: BuildResults[] = [];
  const ab: AbResults[] = [];
  for (const folder of folders) {
    for (const file of (await readdir(folder, { recursive: true }))
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const set = await readResultsFile(path.join(folder, file));
      builds.push(...set.builds);
      ab.push(...set.ab);
    }
  }
  const plan = inputs.plan ? (JSON.parse(inputs.plan) as Matrix) : undefined;
  const expectedTargets = [
    ...new Set(plan?.include.map((j) => j.target) ?? builds.map((b) => b.target)),
  ].sort();
  const latency = ab.flatMap((a) => a.comparisons)[0];
  const input = {
    marker: DEFAULT_MARKER,
    builds,
    ab,
    expectedTargets,
    gates: {
      golden:
        builds.length > 0 && builds.every((b) => b.gates.golden === 'warn')
          ? ('warn' as const)
          : ('fail' as const),
      latency: latency
        ? {
            metric: latency.metric,
            maxRegressionPct: latency.maxRegressionPct,
            confidence: latency.confidence,
          }
        : DEFAULT_LATENCY_GATE,
    },
    context: {
      headSha: context.pullRequest?.headSha ?? context.sha,
      baseRef: context.pullRequest?.baseSha ?? inputs.base,
      runUrl: context.runUrl,
      summaryUrl: context.runUrl,
    },
    plannedNothing: plan !== undefined && plan.include.length === 0,
  };
  const rendered = renderPrComment(input);
  await io.writeSummary(renderJobSummary(input));
  let commentUrl: string | undefined;
  if (context.pullRequest) {
    const pr = { owner: context.owner, repo: context.repo, number: context.pullRequest.number };
    const comment = await upsertStickyComment(deps.github, pr, DEFAULT_MARKER, rendered.body);
    commentUrl = comment.html_url;
    io.setOutput('comment-url', commentUrl);
    io.info(`kiln report: ${comment.action} ${commentUrl}`);
  }
  await deps.github.createCheckRun(context.owner, context.repo, {
    name: 'kiln',
    head_sha: input.context.headSha,
    conclusion: rendered.conclusion,
    title: rendered.title,
    summary: rendered.summary,
  });
  if (rendered.conclusion === 'failure') throw new GateError(rendered.title);
  return { conclusion: rendered.conclusion, ...(commentUrl ? { commentUrl } : {}) };
}
