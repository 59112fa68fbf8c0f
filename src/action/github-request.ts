/**
 * The retrying request wrapper installed on the Action's Octokit: retries as `retryDecision` decides,
 * and turns a final failure into one line naming the request, with the token scrubbed from it.
 */
import { STATUS_CODES } from 'node:http';

import type { getOctokit } from '@actions/github';

import { withRetries } from '../core/retry.js';
import { retryDecision } from './retry.js';
import type { ResponseHeaders, RetryPolicy } from './retry.js';

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

/** Wraps every request `octokit` makes (each page of a paginated list too) in the retry policy. */
export function retryRequests(
  octokit: ReturnType<typeof getOctokit>,
  token: string,
  policy: RetryPolicy,
  sleep: (ms: number) => Promise<void>,
): void {
  const baseUrl = String(octokit.request.endpoint.DEFAULTS.baseUrl).replace(/\/+$/, '');

  const redact = (text: string): string => (token.length >= 4 ? text.split(token).join('[REDACTED]') : text);

  octokit.hook.wrap('request', async (request, requestOptions) => {
    const method = String(requestOptions.method ?? 'GET').toUpperCase();
    return withRetries(
      async () => request(requestOptions),
      (err, attempt) => {
        const e = asOctokitError(err);
        if (!e) return { retry: false, error: err }; // not an HTTP failure (a bug, an abort): nothing to add
        const status = e.response ? e.status : undefined; // Octokit reports a network error as a bodiless 500
        const headers = e.response ? headersOf(e) : {};
        const decision = retryDecision(method, status, headers, attempt, policy);
        if (decision.retry) return decision;
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
        return { retry: false, error: Object.assign(new Error(redact(line), { cause: err }), { status }) };
      },
      sleep,
    );
  });
}
