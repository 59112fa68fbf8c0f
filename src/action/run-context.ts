import * as github from '@actions/github';

/** What the Action needs to know about the run that started it, from the event payload. */
export interface RunContext {
  eventName: string;
  owner: string;
  repo: string;
  runId: number;
  runUrl: string;
  sha: string;
  /** `refs/tags/v1.2.0`, `refs/heads/main`, `refs/pull/7/merge`. */
  ref: string;
  /** Set on pull_request events. */
  pullRequest?: {
    number: number;
    headSha: string;
    baseSha: string;
    headRepo: string;
    baseRepo: string;
  };
  /**
   * Set on workflow_run events: the run that triggered this one (the untrusted `pull_request` run of
   * the two-workflow fork pattern, docs/forks.md). `pullNumbers` is empty for a fork's pull request:
   * GitHub leaves `workflow_run.pull_requests` empty when the head is in another repository.
   */
  workflowRun?: {
    id: number;
    event: string;
    headSha: string;
    /** `owner/name` of the head repository; '(deleted fork)' when it is gone. */
    headRepo: string;
    pullNumbers: number[];
  };
  /** `self-hosted` or `github-hosted` (RUNNER_ENVIRONMENT); unknown when unset. */
  runnerEnvironment: string;
}

/** The parts of @actions/github's context read here (a test passes a payload of its own). */
export type GitHubContext = Pick<
  typeof github.context,
  'eventName' | 'payload' | 'repo' | 'runId' | 'sha' | 'ref'
>;

/** Reads the run context from @actions/github and the runner's environment. */
export function readRunContext(
  env: NodeJS.ProcessEnv = process.env,
  ctx: GitHubContext = github.context,
): RunContext {
  const pr = ctx.payload.pull_request as
    | {
        number: number;
        head: { sha: string; repo: { full_name: string } | null };
        base: { sha: string; repo: { full_name: string } };
      }
    | undefined;
  const wr = ctx.payload.workflow_run as
    | {
        id: number;
        event: string;
        head_sha: string;
        head_repository: { full_name: string } | null;
        pull_requests?: Array<{ number: number }>;
      }
    | undefined;
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
  return {
    eventName: ctx.eventName,
    owner: ctx.repo.owner,
    repo: ctx.repo.repo,
    runId: ctx.runId,
    runUrl: `${server}/${ctx.repo.owner}/${ctx.repo.repo}/actions/runs/${ctx.runId}`,
    sha: ctx.sha,
    ref: ctx.ref,
    ...(pr
      ? {
          pullRequest: {
            number: pr.number,
            headSha: pr.head.sha,
            baseSha: pr.base.sha,
            // A deleted fork has no head repo: treat it as foreign.
            headRepo: pr.head.repo?.full_name ?? '(deleted fork)',
            baseRepo: pr.base.repo.full_name,
          },
        }
      : {}),
    ...(wr
      ? {
          workflowRun: {
            id: wr.id,
            event: wr.event,
            headSha: wr.head_sha,
            headRepo: wr.head_repository?.full_name ?? '(deleted fork)',
            pullNumbers: (wr.pull_requests ?? []).map((p) => p.number),
          },
        }
      : {}),
    runnerEnvironment: env.RUNNER_ENVIRONMENT ?? 'unknown',
  };
}

export const SELF_HOSTED_SECURITY_DOCS =
  'https://docs.github.com/en/actions/hosting-your-own-runners/managing-self-hosted-runners/about-self-hosted-runners#self-hosted-runner-security';

/**
 * Why a build must not run here, or undefined. A fork's pull request runs attacker-chosen code; on a
 * self-hosted runner that code keeps the machine, its caches and its network afterwards.
 */
export function forkRefusal(context: RunContext): string | undefined {
  const pr = context.pullRequest;
  if (!pr || pr.headRepo === pr.baseRepo) return undefined;
  if (context.runnerEnvironment === 'github-hosted') return undefined;
  return `refusing to build pull request #${pr.number} from fork ${pr.headRepo} on a self-hosted runner: its code would run on this machine with its caches and network (see ${SELF_HOSTED_SECURITY_DOCS}); gate the build job with if: github.event.pull_request.head.repo.full_name == github.repository`;
}
