import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffMs, retryAfterMs, withRetries } from '../../src/core/retry.js';

describe('withRetries', () => {
  it('retries until success, sleeping what onFailure asks, and passes the attempt number', async () => {
    const slept: number[] = [];
    const seen: number[] = [];
    const result = await withRetries(
      async (attempt) => {
        if (attempt < 3) throw new Error(`fail ${attempt}`);
        return 'ok';
      },
      (_error, attempt) => {
        seen.push(attempt);
        return { retry: true, waitMs: attempt * 10 };
      },
      async (ms) => {
        slept.push(ms);
      },
    );
    expect(result).toBe('ok');
    expect(seen).toEqual([1, 2]);
    expect(slept).toEqual([10, 20]);
  });

  it('throws exactly the error onFailure gives up with, without sleeping', async () => {
    const final = new Error('gave up', { cause: 'x' });
    let sleeps = 0;
    await expect(
      withRetries(
        async () => {
          throw new Error('boom');
        },
        () => ({ retry: false, error: final }),
        async () => {
          sleeps += 1;
        },
      ),
    ).rejects.toBe(final);
    expect(sleeps).toBe(0);
  });
});

describe('retryAfterMs (RFC 9110 delay-seconds or HTTP-date)', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');
  it('reads seconds, dates, past dates and rubbish', () => {
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs(' 1.5 ', now)).toBe(1500);
    expect(retryAfterMs(30, now)).toBe(30_000);
    expect(retryAfterMs('Mon, 07 Dec 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Mon, 07 Dec 2026 11:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs('', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs('-5', now)).toBeUndefined();
  });
});

describe('backoffMs', () => {
  it('doubles per attempt, stays within [exp/2, exp] and under the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (attempt, base, r) => {
          const cap = 60_000;
          const exp = base * 2 ** (attempt - 1);
          const wait = backoffMs(attempt, base, cap, () => r);
          expect(wait).toBeLessThanOrEqual(cap);
          expect(wait).toBeGreaterThanOrEqual(Math.min(cap, Math.floor(exp / 2)));
          expect(wait).toBeLessThanOrEqual(Math.ceil(exp));
        },
      ),
    );
    expect(backoffMs(3, 500, 60_000, () => 1)).toBe(2000);
  });
});
