/**
 * The small slice of GitHub's REST API the Action uses, behind an interface so the report logic can
 * be tested without the network, and its implementation on @actions/github's Octokit.
 *
 * Octokit is used bare (@actions/github adds no retry or throttling plugin); retries are ours, decided
 * by `retryDecision` in ./retry.ts and applied per HTTP request (each page of a paginated list too).
 */
import { STATUS_CODES } from 'node:http';

import { getOctokit } from '@actions/github';

import { DEFAULT_RETRY_POLICY, retryDecision } from './retry.js';
import type { ResponseHeaders, RetryPolicy } from './retry.js';

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

export type CheckConclusion = 'success' | 'failure' | 'neutral';

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
}

/** GitHub rejects check-run output fields longer than this. */
export const CHECK_OUTPUT_MAX_CHARS = 65_535;

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = '\n\n… (truncated)';
  return text.slice(0, max - note.length) + note;
}

interface OctokitErrorLike {
  status?: number;
  message?: string;
  response?: { status: number; headers?: Record<string, unknown>; data?: unknown };
  cause?: unknown;
}

function asOctokitError(err: unknown): OctokitErrorLike | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as OctokitErrorLike;
  return typeof e.status === 'number' ? e : undefined;
}

function headersOf(err: OctokitErrorLike): ResponseHeaders {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(err.response?.headers ?? {})) {
    if (typeof v === 'string' || typeof v === 'number') out[k.toLowerCase()] = String(v);
  }
  return out;
}

/** GitHub's own `message` from an error response body, if any. */
function gitHubMessage(data: unknown): string | undefined {
  if (typeof data === 'object' && data !== null && 'message' in data) {
    const m = (data as { message: unknown }).message;
    if (typeof m === 'string' && m.trim() !== '') return m.trim().split('\n')[0];
  }
  return undefined;
}

function networkDetail(err: OctokitErrorLike): string {
  let detail = err.message ?? 'no response';
  const cause = err.cause as { code?: unknown; cause?: unknown } | undefined;
  if (cause && typeof cause === 'object') {
    const code = typeof cause.code === 'string' ? cause.code : undefined;
    const inner = cause.cause as { code?: unknown } | undefined;
    const innerCode = inner && typeof inner.code === 'string' ? inner.code : undefined;
    if (code ?? innerCode) detail += ` (${code ?? innerCode})`;
  }
  return detail;
}

/**
 * Octokit already redacts the Authorization header in the error's `request`; scrub the token from the
 * rest too (message, stack, the response's `message`), in case a server or proxy echoes it back.
 */
function scrub(err: unknown, redact: (text: string) => string): void {
  const e = err as { message?: unknown; stack?: unknown; response?: { data?: unknown } };
  try {
    if (typeof e.message === 'string') e.message = redact(e.message);
    if (typeof e.stack === 'string') e.stack = redact(e.stack);
    const data = e.response?.data as { message?: unknown } | undefined;
    if (data && typeof data === 'object' && typeof data.message === 'string')
      data.message = redact(data.message);
  } catch {
    // A frozen error keeps its text; ours (the thrown one) is redacted regardless.
  }
}

export function createGitHubApi(token: string, options: GitHubApiOptions = {}): GitHubApi {
  if (!token) throw new Error('GitHub API: a token is required (input github-token)');
  const policy = options.retry ?? DEFAULT_RETRY_POLICY;
  const sleep = options.sleep ?? realSleep;
  const octokit = getOctokit(token, options.baseUrl !== undefined ? { baseUrl: options.baseUrl } : {});
  const baseUrl = String(octokit.request.endpoint.DEFAULTS.baseUrl).replace(/\/+$/, '');

  const redact = (text: string): string => (token.length >= 4 ? text.split(token).join('[REDACTED]') : text);

  octokit.hook.wrap('request', async (request, requestOptions) => {
    const method = String(requestOptions.method ?? 'GET').toUpperCase();
    for (let attempt = 1; ; attempt++) {
      try {
        return await request(requestOptions);
      } catch (err) {
        const e = asOctokitError(err);
        if (!e) throw err; // not an HTTP failure (a bug, an abort): nothing to add
        const status = e.response ? e.status : undefined; // Octokit reports a network error as a bodiless 500
        const headers = e.response ? headersOf(e) : {};
        const decision = retryDecision(method, status, headers, attempt, policy);
        if (decision.retry) {
          await sleep(decision.waitMs);
          continue;
        }
        const { url } = octokit.request.endpoint(requestOptions);
        const path = (url.startsWith(baseUrl) ? url.slice(baseUrl.length) : url).split('?')[0];
        const statusText = status === undefined ? '' : `${status} ${STATUS_CODES[status] ?? ''}`.trim();
        const message = gitHubMessage(e.response?.data);
        const what =
          status === undefined
            ? `network error: ${networkDetail(e)}`
            : statusText + (message && message !== STATUS_CODES[status] ? ` (${message})` : '');
        const why =
          decision.reason === 'retries exhausted' || decision.reason === 'not a transient error'
            ? ''
            : `; ${decision.reason}`;
        const line = `GitHub API: ${method} ${path} failed: ${what} after ${attempt} attempt${attempt === 1 ? '' : 's'}${why}`;
        scrub(err, redact);
        throw Object.assign(new Error(redact(line), { cause: err }), { status });
      }
    }
  });

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
