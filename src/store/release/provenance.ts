import os from 'node:os';

/** Who built or published something: enough to find the commit, the workflow run and the machine. */
export interface Provenance {
  /** `github-actions` when the GitHub runner environment is present, else `local`. */
  builder: 'github-actions' | 'local';
  commit?: string;
  ref?: string;
  repository?: string;
  workflow?: string;
  /** URL of the workflow run (attempt included), when built in GitHub Actions. */
  workflowRun?: string;
  runId?: string;
  runAttempt?: string;
  runner: { name?: string; os?: string; arch?: string; hostname: string };
}

/**
 * Provenance from the GitHub Actions environment variables (documented "default environment
 * variables"); outside Actions only the host is known, plus the commit when the caller passes it.
 */
export function provenanceFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  local: { commit?: string; hostname?: string } = {},
): Provenance {
  const runner = {
    hostname: local.hostname ?? os.hostname(),
    ...(env.RUNNER_NAME ? { name: env.RUNNER_NAME } : {}),
    ...(env.RUNNER_OS ? { os: env.RUNNER_OS } : {}),
    ...(env.RUNNER_ARCH ? { arch: env.RUNNER_ARCH } : {}),
  };
  if (env.GITHUB_ACTIONS !== 'true') {
    return { builder: 'local', ...(local.commit ? { commit: local.commit } : {}), runner };
  }
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
  const run =
    env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
      ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}${env.GITHUB_RUN_ATTEMPT ? `/attempts/${env.GITHUB_RUN_ATTEMPT}` : ''}`
      : undefined;
  return {
    builder: 'github-actions',
    ...pick('commit', env.GITHUB_SHA ?? local.commit),
    ...pick('ref', env.GITHUB_REF),
    ...pick('repository', env.GITHUB_REPOSITORY),
    ...pick('workflow', env.GITHUB_WORKFLOW_REF ?? env.GITHUB_WORKFLOW),
    ...pick('workflowRun', run),
    ...pick('runId', env.GITHUB_RUN_ID),
    ...pick('runAttempt', env.GITHUB_RUN_ATTEMPT),
    runner,
  };
}

function pick<K extends string>(name: K, value: string | undefined): Partial<Record<K, string>> {
  return value ? ({ [name]: value } as Record<K, string>) : {};
}
