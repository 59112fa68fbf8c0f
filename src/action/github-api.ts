/**
 * The small slice of GitHub's REST API the Action uses, behind an interface so the report logic can
 * be tested without the network, and its implementation on @actions/github's Octokit.
 *
 * Octokit is used bare (@actions/github adds no retry or throttling plugin); retries are ours, decided
 * by `retryDecision` in ./retry.ts and applied per HTTP request (each page of a paginated list too)
 * by `retryRequests` in ./github-request.ts.
 */
import { getOctokit } from '@actions/github';
import { httpTimeoutsFromEnv, timedFetch, type HttpTimeouts } from '../core/io/timed-fetch.js';

import { retryRequests } from './github-request.js';
import { DEFAULT_RETRY_POLICY } from './retry.js';
import type { RetryPolicy } from './retry.js';

export type { RetryPolicy } from './retry.js';

export interface PullRequestRef {
  owner: string;
  repo: string;
  number: number;
  headSha: string;
  baseSha: string;
  /** `owner/name` of the head repository; '' when the head repository was deleted (treat as a fork). */
  headRepoFullName: string;
  baseRepoFullName: string;
}

export interface IssueComment {
  id: number;
  body: string;
  /** Author's login; null for a deleted ("ghost") account. */
  user: string | null;
  html_url: string;
}

/** Never `neutral`: GitHub counts it as passing for a required check, so the gate fails closed. */
export type CheckConclusion = 'success' | 'failure';

export interface CheckRunInput {
  name: string;
  head_sha: string;
  conclusion: CheckConclusion;
  title: string;
  summary: string;
  text?: string;
}

export interface GitHubApi {
  /** Every comment on the issue or pull request, oldest first (all pages). */
  listIssueComments(owner: string, repo: string, issueNumber: number): Promise<IssueComment[]>;
  createIssueComment(
    owner: string,
    repo: string,
    issueNumber: number,
    body: string,
  ): Promise<{ id: number; html_url: string }>;
  updateIssueComment(
    owner: string,
    repo: string,
    commentId: number,
    body: string,
  ): Promise<{ id: number; html_url: string }>;
  /** Creates a check run that is already `completed` with the given conclusion. */
  createCheckRun(
    owner: string,
    repo: string,
    input: CheckRunInput,
  ): Promise<{ id: number; html_url: string }>;
  getPullRequest(owner: string, repo: string, number: number): Promise<PullRequestRef>;
}

export interface GitHubApiOptions {
  /** REST API root; defaults to $GITHUB_API_URL, else https://api.github.com. */
  baseUrl?: string;
  retry?: RetryPolicy;
  /** How to wait between attempts (tests inject a fake). */
  sleep?: (ms: number) => Promise<void>;
  /** Read timeout and deadline per request (default: KILN_HTTP_* from the environment). */
  timeouts?: HttpTimeouts;
}

/** GitHub rejects check-run output fields longer than this. */
export const CHECK_OUTPUT_MAX_CHARS = 65_535;

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = '\n\n… (truncated)';
  return text.slice(0, max - note.length) + note;
}

export function createGitHubApi(token: string, options: GitHubApiOptions = {}): GitHubApi {
  if (!token) throw new Error('GitHub API: a token is required (input github-token)');
  const timeouts = options.timeouts ?? httpTimeoutsFromEnv();
  // A stalled API must not hang the job: every request (each page too) under the read timeout and deadline.
  const fetch = (url: string, init: RequestInit) =>
    timedFetch(new URL(url), init, { timeouts, peer: 'GitHub API' });
  const octokit = getOctokit(token, {
    ...(options.baseUrl !== undefined ? { baseUrl: options.baseUrl } : {}),
    request: { fetch },
  });
  retryRequests(octokit, token, options.retry ?? DEFAULT_RETRY_POLICY, options.sleep ?? realSleep);

  return {
    async listIssueComments(owner, repo, issueNumber) {
      const comments = await octokit.paginate(octokit.rest.issues.listComments, {
        owner,
        repo,
        issue_number: issueNumber,
        per_page: 100,
      });
      return comments.map((c) => ({
        id: c.id,
        body: c.body ?? '',
        user: c.user?.login ?? null,
        html_url: c.html_url,
      }));
    },

    async createIssueComment(owner, repo, issueNumber, body) {
      const { data } = await octokit.rest.issues.createComment({
        owner,
        repo,
        issue_number: issueNumber,
        body,
      });
      return { id: data.id, html_url: data.html_url };
    },

    async updateIssueComment(owner, repo, commentId, body) {
      const { data } = await octokit.rest.issues.updateComment({ owner, repo, comment_id: commentId, body });
      return { id: data.id, html_url: data.html_url };
    },

    async createCheckRun(owner, repo, input) {
      const output: { title: string; summary: string; text?: string } = {
        title: input.title,
        summary: truncate(input.summary, CHECK_OUTPUT_MAX_CHARS),
      };
      if (input.text !== undefined) output.text = truncate(input.text, CHECK_OUTPUT_MAX_CHARS);
      const { data } = await octokit.rest.checks.create({
        owner,
        repo,
        name: input.name,
        head_sha: input.head_sha,
        status: 'completed',
        conclusion: input.conclusion,
        completed_at: new Date().toISOString(),
        output,
      });
      return { id: data.id, html_url: data.html_url ?? '' };
    },

    async getPullRequest(owner, repo, number) {
      const { data } = await octokit.rest.pulls.get({ owner, repo, pull_number: number });
      return {
        owner,
        repo,
        number: data.number,
        headSha: data.head.sha,
        baseSha: data.base.sha,
        headRepoFullName: data.head.repo?.full_name ?? '',
        baseRepoFullName: data.base.repo.full_name,
      };
    },
  };
}
