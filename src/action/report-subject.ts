import { KilnError } from '../core/errors.js';
import type { GitHubApi } from './github-api.js';
import type { PlannedPullRequest } from './commands/plan.js';
import type { ArtifactSource } from './results-transfer.js';
import type { RunContext } from './run-context.js';

/** What a report is about: the commit its check run goes on, and the pull request if there is one. */
export interface ReportSubject {
  headSha: string;
  /** The pull request's base commit: where trusted gates are read; absent outside pull requests. */
  baseSha?: string;
  pr?: { owner: string; repo: string; number: number };
  /** The head is in another repository: its results and plan come from code nobody here reviewed. */
  fork: boolean;
}

/** Where the build jobs' artifacts are: this run, or (workflow_run) the run that triggered it. */
export function artifactSource(context: RunContext, token: string): ArtifactSource | undefined {
  const run = context.workflowRun;
  return run && { runId: run.id, owner: context.owner, repo: context.repo, token };
}

/**
 * The subject of this report. Under `workflow_run` the pull request is found from the triggering
 * run (GitHub lists none for a fork, so the plan artifact's number is used) and then checked with the
 * API: its head must be the commit that run built, so a forged number cannot put a verdict on
 * another pull request.
 */
export async function reportSubject(
  context: RunContext,
  base: string,
  github: GitHubApi,
  planned: PlannedPullRequest | undefined,
): Promise<ReportSubject> {
  const run = context.workflowRun;
  if (!run) {
    const pr = context.pullRequest;
    if (!pr) return { headSha: context.sha, ...(base ? { baseSha: base } : {}), fork: false };
    return {
      headSha: pr.headSha,
      baseSha: base || pr.baseSha,
      pr: { owner: context.owner, repo: context.repo, number: pr.number },
      fork: pr.headRepo !== pr.baseRepo,
    };
  }
  if (run.event !== 'pull_request') {
    throw new KilnError(
      `report: the triggering run was a '${run.event}' event; the workflow_run report is for pull_request runs`,
    );
  }
  const number = run.pullNumbers[0] ?? planned?.number;
  if (number === undefined) {
    throw new KilnError(
      `report: run ${run.id} names no pull request and uploaded no kiln-plan artifact, so there is nothing to report on`,
    );
  }
  const pr = await github.getPullRequest(context.owner, context.repo, number);
  if (pr.headSha !== run.headSha) {
    throw new KilnError(
      `report: pull request #${number} is at ${pr.headSha.slice(0, 12)}, not ${run.headSha.slice(0, 12)} that run ${run.id} built (a newer push reports for itself)`,
    );
  }
  return {
    headSha: run.headSha,
    baseSha: base || pr.baseSha,
    pr: { owner: context.owner, repo: context.repo, number },
    fork: pr.headRepoFullName === '' || pr.headRepoFullName !== pr.baseRepoFullName,
  };
}
