/**
 * When (and how long) to retry a failed GitHub REST call. Pure: the clock and the jitter source are
 * part of the policy, so every decision is reproducible in a unit test.
 *
 * What is retried, and why:
 * - Rate limits (429, or 403 with `x-ratelimit-remaining: 0` or a `retry-after` header), on ANY method:
 *   GitHub rejects a rate-limited request before applying it, so even a POST is safe to repeat. The
 *   wait honours `retry-after` (seconds or an HTTP date), else `x-ratelimit-reset` (epoch seconds); a
 *   secondary limit with neither header waits one minute, as GitHub's docs ask. A wait longer than
 *   `maxWaitMs` is not slept through: the call fails at once, saying when the limit resets.
 * - 500/502/503/504 and network errors (no status) on idempotent methods only: GET, HEAD, OPTIONS,
 *   PUT, DELETE and PATCH (we only PATCH to replace a comment's body, which is idempotent).
 * - POST after a 5xx or a network error is NEVER retried, 502/503 included: a gateway error can come
 *   back after the backend has created the comment or check run, and a duplicate sticky comment is
 *   worse than a failed report step (a re-run finds and updates the comment).
 * - Every other status (401, 404, 422, a 403 that is not a rate limit, …) is a real answer: no retry.
 */
import { backoffMs, retryAfterMs } from '../core/retry.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Backoff before attempt 2; doubles each attempt after that (then jittered). */
  baseDelayMs: number;
  /** Longest single wait we accept; a rate limit resetting later than this fails at once. */
  maxWaitMs: number;
  /** Clock, ms since the epoch (for `x-ratelimit-reset` and HTTP-date `retry-after`). */
  now?: () => number;
  /** Uniform [0, 1) source for jitter. */
  random?: () => number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 1000,
  maxWaitMs: 60_000,
};

export type ResponseHeaders = Readonly<Record<string, string | number | undefined>>;

export type RetryDecision = { retry: true; waitMs: number } | { retry: false; reason: string };

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'PATCH']);
const TRANSIENT = new Set([500, 502, 503, 504]);
/** Wait for a secondary rate limit that names no time (GitHub: "wait at least one minute"). */
const SECONDARY_LIMIT_WAIT_MS = 60_000;

function header(headers: ResponseHeaders, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === wanted && v !== undefined) return String(v).trim();
  }
  return undefined;
}

/** True when the response is one of GitHub's primary or secondary rate-limit answers. */
export function isRateLimited(status: number | undefined, headers: ResponseHeaders): boolean {
  if (status === 429) return true;
  if (status !== 403) return false;
  return header(headers, 'x-ratelimit-remaining') === '0' || header(headers, 'retry-after') !== undefined;
}

/** Milliseconds to wait before a rate limit lifts, from the response headers; undefined if unstated. */
function rateLimitWaitMs(headers: ResponseHeaders, now: number): number | undefined {
  const stated = retryAfterMs(header(headers, 'retry-after'), now);
  if (stated !== undefined) return stated;
  const reset = header(headers, 'x-ratelimit-reset');
  if (reset !== undefined && /^\d+$/.test(reset)) {
    // The reset time has one-second resolution; wait a second past it so we don't arrive early.
    return Math.max(0, Number(reset) * 1000 - now) + 1000;
  }
  return undefined;
}

function backoff(attempt: number, policy: RetryPolicy): number {
  return backoffMs(attempt, policy.baseDelayMs, policy.maxWaitMs, policy.random ?? Math.random);
}

/**
 * Decide what to do after attempt number `attempt` (1-based) of `method` failed with `status`
 * (undefined for a network error, when no response came back).
 */
export function retryDecision(
  method: string,
  status: number | undefined,
  headers: ResponseHeaders,
  attempt: number,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): RetryDecision {
  const verb = method.toUpperCase();
  const rateLimited = isRateLimited(status, headers);
  if (!rateLimited) {
    const transient = status === undefined || TRANSIENT.has(status);
    if (!transient) return { retry: false, reason: 'not a transient error' };
    if (!IDEMPOTENT.has(verb)) {
      return { retry: false, reason: `${verb} is not retried after a server or network error` };
    }
  }
  if (attempt >= policy.maxAttempts) return { retry: false, reason: 'retries exhausted' };
  if (rateLimited) {
    const now = (policy.now ?? Date.now)();
    const stated = rateLimitWaitMs(headers, now);
    const waitMs =
      stated ??
      (status === 429 || header(headers, 'retry-after') !== undefined
        ? SECONDARY_LIMIT_WAIT_MS
        : backoff(attempt, policy));
    if (waitMs > policy.maxWaitMs) {
      return {
        retry: false,
        reason: `rate limit resets in ${Math.ceil(waitMs / 1000)} s, longer than the ${Math.round(
          policy.maxWaitMs / 1000,
        )} s we wait`,
      };
    }
    return { retry: true, waitMs };
  }
  return { retry: true, waitMs: backoff(attempt, policy) };
}

/** The wait in ms before retrying, or null when the failure must be reported now. */
export function shouldRetry(
  method: string,
  status: number | undefined,
  headers: ResponseHeaders,
  attempt: number,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): number | null {
  const d = retryDecision(method, status, headers, attempt, policy);
  return d.retry ? d.waitMs : null;
}
