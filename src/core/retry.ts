/**
 * The one retry loop and the one `Retry-After` reading, shared by the GitHub API client
 * (src/action/github-request.ts, whose policy is src/action/retry.ts) and the OCI registry client
 * (src/store/oci/http.ts). Pure: sleeping and the clock come in from the caller, so every decision
 * is reproducible in a unit test.
 */

/** What to do after a failed attempt: wait and try again, or give up with this error. */
export type RetryStep = { retry: true; waitMs: number } | { retry: false; error: unknown };

/**
 * Runs `operation` until it succeeds or `onFailure` gives up. `onFailure` sees each failure with the
 * 1-based number of the attempt that failed; what it returns as `error` is thrown as is.
 */
export async function withRetries<T>(
  operation: (attempt: number) => Promise<T>,
  onFailure: (error: unknown, attempt: number) => RetryStep,
  sleep: (ms: number) => Promise<void>,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (error) {
      const step = onFailure(error, attempt);
      if (!step.retry) throw step.error;
      await sleep(step.waitMs);
    }
  }
}

/**
 * `Retry-After` (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) in milliseconds from `now`;
 * undefined when absent or unreadable. A date in the past means "now" (0).
 */
export function retryAfterMs(value: string | number | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = String(value).trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  // Only a date spelled with a weekday/month name: Date.parse also takes '-5' as a year.
  const at = /[A-Za-z]/.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Exponential backoff before attempt `attempt + 1`: `baseDelayMs · 2^(attempt-1)`, capped at
 * `maxWaitMs`, with "equal jitter" (half fixed, half drawn from `random`) so that concurrent jobs
 * spread out. `random` returning 1 gives the plain exponential.
 */
export function backoffMs(
  attempt: number,
  baseDelayMs: number,
  maxWaitMs: number,
  random: () => number,
): number {
  const exp = baseDelayMs * 2 ** (attempt - 1);
  return Math.min(maxWaitMs, Math.round(exp / 2 + (exp / 2) * random()));
}
