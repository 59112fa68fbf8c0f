import { describe, expect, it } from 'vitest';

import { DEFAULT_RETRY_POLICY, isRateLimited, retryDecision, shouldRetry } from '../../src/action/retry.js';
import type { RetryPolicy } from '../../src/action/retry.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, now: () => NOW, random: () => 0.5 };
const epoch = (ms: number) => String(Math.floor(ms / 1000));

describe('shouldRetry', () => {
  it('retries 5xx and network errors on idempotent methods with jittered exponential backoff', () => {
    expect(shouldRetry('GET', 503, {}, 1, policy)).toBe(750); // 1000 * (0.5 + 0.5 * 0.5)
    expect(shouldRetry('get', 500, {}, 2, policy)).toBe(1500);
    expect(shouldRetry('PATCH', 502, {}, 1, policy)).toBe(750);
    expect(shouldRetry('GET', 504, {}, 1, policy)).toBe(750);
    expect(shouldRetry('GET', undefined, {}, 1, policy)).toBe(750);
    expect(shouldRetry('PUT', 503, {}, 1, policy)).toBe(750);
    expect(shouldRetry('DELETE', 503, {}, 1, policy)).toBe(750);
  });

  it('keeps jitter within [half, full] of the exponential delay and under the cap', () => {
    for (const r of [0, 0.1, 0.5, 0.999]) {
      for (let attempt = 1; attempt <= 8; attempt++) {
        const p = { ...policy, maxAttempts: 10, random: () => r };
        const wait = shouldRetry('GET', 503, {}, attempt, p)!;
        const full = 1000 * 2 ** (attempt - 1);
        expect(wait).toBeGreaterThanOrEqual(Math.min(full / 2, 60_000));
        expect(wait).toBeLessThanOrEqual(Math.min(full, 60_000));
      }
    }
  });

  it('stops after maxAttempts', () => {
    expect(shouldRetry('GET', 503, {}, 3, policy)).toBeNull();
    expect(retryDecision('GET', 503, {}, 3, policy)).toEqual({ retry: false, reason: 'retries exhausted' });
    expect(shouldRetry('GET', 503, {}, 1, { ...policy, maxAttempts: 1 })).toBeNull();
  });

  it('never retries a POST after a server or network error (it may have been applied)', () => {
    for (const status of [500, 502, 503, 504, undefined]) {
      expect(shouldRetry('POST', status, {}, 1, policy)).toBeNull();
    }
    expect(retryDecision('POST', 503, {}, 1, policy)).toEqual({
      retry: false,
      reason: 'POST is not retried after a server or network error',
    });
  });

  it('does not retry real answers', () => {
    for (const status of [400, 401, 404, 409, 422, 501]) {
      expect(shouldRetry('GET', status, {}, 1, policy)).toBeNull();
    }
    // A 403 that is not a rate limit is a permission problem.
    expect(shouldRetry('GET', 403, { 'x-ratelimit-remaining': '4999' }, 1, policy)).toBeNull();
  });

  it('waits for x-ratelimit-reset on a primary rate limit, for any method', () => {
    const headers = { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': epoch(NOW + 10_000) };
    expect(isRateLimited(403, headers)).toBe(true);
    expect(shouldRetry('GET', 403, headers, 1, policy)).toBe(11_000);
    expect(shouldRetry('POST', 403, headers, 1, policy)).toBe(11_000);
    expect(shouldRetry('POST', 429, headers, 2, policy)).toBe(11_000);
    // A reset already past: just the one-second margin.
    expect(shouldRetry('GET', 403, { ...headers, 'x-ratelimit-reset': epoch(NOW - 5000) }, 1, policy)).toBe(
      1000,
    );
  });

  it('honours retry-after (seconds or HTTP date) before x-ratelimit-reset, case-insensitively', () => {
    expect(shouldRetry('POST', 403, { 'Retry-After': '7' }, 1, policy)).toBe(7000);
    expect(
      shouldRetry('GET', 429, { 'retry-after': 3, 'x-ratelimit-reset': epoch(NOW + 50_000) }, 1, policy),
    ).toBe(3000);
    const date = new Date(NOW + 20_000).toUTCString();
    expect(shouldRetry('GET', 429, { 'retry-after': date }, 1, policy)).toBe(20_000);
  });

  it('waits a minute on a secondary rate limit that names no time', () => {
    expect(shouldRetry('POST', 429, {}, 1, policy)).toBe(60_000);
  });

  it('fails at once, saying why, when the limit resets later than maxWaitMs', () => {
    const headers = { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': epoch(NOW + 3_600_000) };
    expect(shouldRetry('GET', 403, headers, 1, policy)).toBeNull();
    expect(retryDecision('GET', 403, headers, 1, policy)).toEqual({
      retry: false,
      reason: 'rate limit resets in 3601 s, longer than the 60 s we wait',
    });
    expect(shouldRetry('GET', 429, { 'retry-after': '61' }, 1, policy)).toBeNull();
    expect(shouldRetry('GET', 429, { 'retry-after': '61' }, 1, { ...policy, maxWaitMs: 120_000 })).toBe(
      61_000,
    );
  });

  it('counts rate-limit retries against maxAttempts', () => {
    expect(shouldRetry('GET', 429, { 'retry-after': '1' }, 3, policy)).toBeNull();
  });
});
