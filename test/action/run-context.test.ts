import { describe, expect, it } from 'vitest';
import { readRunContext, type GitHubContext } from '../../src/action/run-context.js';

const base = {
  repo: { owner: 'acme', repo: 'models' },
  runId: 5151,
  sha: 'c'.repeat(40),
  ref: 'refs/heads/main',
};

/** A workflow_run payload as GitHub sends it (the fields kiln reads), for a fork's pull request. */
const workflowRun = {
  action: 'completed',
  workflow_run: {
    id: 777,
    event: 'pull_request',
    head_sha: 'a'.repeat(40),
    head_repository: { full_name: 'mallory/models' },
    pull_requests: [],
    conclusion: 'success',
  },
};

describe('readRunContext', () => {
  it('reads the triggering run of a workflow_run event (GitHub lists no pull request for a fork)', () => {
    const ctx: GitHubContext = { ...base, eventName: 'workflow_run', payload: workflowRun };
    const context = readRunContext({ GITHUB_SERVER_URL: 'https://github.com' }, ctx);
    expect(context.workflowRun).toEqual({
      id: 777,
      event: 'pull_request',
      headSha: 'a'.repeat(40),
      headRepo: 'mallory/models',
      pullNumbers: [],
    });
    expect(context.pullRequest).toBeUndefined();
    expect(context.runUrl).toBe('https://github.com/acme/models/actions/runs/5151');
  });

  it('a same-repository run names its pull requests; a deleted fork is named as such', () => {
    const payload = {
      workflow_run: {
        ...workflowRun.workflow_run,
        head_repository: null,
        pull_requests: [{ number: 42, head: { sha: 'a' }, base: { sha: 'b' } }],
      },
    };
    const context = readRunContext({}, { ...base, eventName: 'workflow_run', payload });
    expect(context.workflowRun).toMatchObject({ headRepo: '(deleted fork)', pullNumbers: [42] });
  });
});
