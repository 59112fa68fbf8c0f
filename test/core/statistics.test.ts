import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mean, percentile, stddev, summarize, windowsAgree } from '../../src/core/statistics.js';

const sortedArb = fc
  .array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 60 })
  .map((xs) => Float64Array.from(xs).sort());

describe('percentile', () => {
  it('matches numpy.percentile (linear) on hand-checked values', () => {
    // numpy.percentile([1, 2, 3, 4], [0, 25, 50, 90, 100]) -> [1, 1.75, 2.5, 3.7, 4]
    const xs = [1, 2, 3, 4];
    expect(percentile(xs, 0)).toBe(1);
    expect(percentile(xs, 25)).toBe(1.75);
    expect(percentile(xs, 50)).toBe(2.5);
    expect(percentile(xs, 90)).toBeCloseTo(3.7, 12);
    expect(percentile(xs, 100)).toBe(4);
    // numpy.percentile([10, 20, 30, 40, 50], 99) -> 49.6
    expect(percentile([10, 20, 30, 40, 50], 99)).toBeCloseTo(49.6, 12);
    expect(percentile([7], 63)).toBe(7);
    expect(percentile([Infinity, Infinity], 50)).toBe(Infinity);
  });

  it('refuses empty samples and p outside [0, 100]', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow('percentile p must be within [0, 100], got 101');
    expect(() => percentile([1], NaN)).toThrow(RangeError);
  });

  it('is monotone in p and within [min, max]', () => {
    fc.assert(
      fc.property(
        sortedArb,
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (xs, p, q) => {
          const [lo, hi] = p <= q ? [p, q] : [q, p];
          expect(percentile(xs, lo)).toBeLessThanOrEqual(percentile(xs, hi));
          expect(percentile(xs, p)).toBeGreaterThanOrEqual(xs[0] as number);
          expect(percentile(xs, p)).toBeLessThanOrEqual(xs[xs.length - 1] as number);
        },
      ),
    );
  });

  it('p50 of an odd-length sample is its median element', () => {
    fc.assert(
      fc.property(
        sortedArb.filter((xs) => xs.length % 2 === 1),
        (xs) => {
          expect(percentile(xs, 50)).toBe(xs[(xs.length - 1) / 2]);
        },
      ),
    );
  });
});

describe('mean / stddev', () => {
  it('computes the sample (n - 1) standard deviation', () => {
    expect(mean([2, 4, 4, 4, 5, 5, 7, 9])).toBe(5);
    // Population sd of this classic sample is 2; the sample sd is sqrt(32 / 7).
    expect(stddev([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(stddev([3])).toBe(0);
    expect(stddev([])).toBe(0);
    expect(() => mean([])).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('summarizes unsorted samples without mutating them', () => {
    const samples = [5, 1, 4, 2, 3];
    expect(summarize(samples)).toEqual({
      n: 5,
      p50: 3,
      p90: 4.6,
      p99: 4.96,
      mean: 3,
      stddev: Math.sqrt(2.5),
      min: 1,
      max: 5,
    });
    expect(samples).toEqual([5, 1, 4, 2, 3]);
    expect(() => summarize([])).toThrow('summarize of an empty sample');
  });

  it('orders min <= p50 <= p90 <= p99 <= max', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e4, noNaN: true }), { minLength: 1 }), (xs) => {
        const s = summarize(xs);
        expect(s.n).toBe(xs.length);
        expect(s.min).toBeLessThanOrEqual(s.p50);
        expect(s.p50).toBeLessThanOrEqual(s.p90);
        expect(s.p90).toBeLessThanOrEqual(s.p99);
        expect(s.p99).toBeLessThanOrEqual(s.max);
        expect(s.stddev).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});

describe('windowsAgree', () => {
  it('needs three full windows', () => {
    expect(windowsAgree([1, 1, 1, 1, 1], 2, 10)).toBe(false);
    expect(windowsAgree([1, 1, 1, 1, 1, 1], 2, 10)).toBe(true);
  });

  it('compares the medians of the last three windows against the smallest', () => {
    // Windows of 3: medians 10, 10.5, 11 -> spread 1 = 10% of 10.
    const samples = [99, 99, 99, 9, 10, 50, 10.5, 1, 10.5, 11, 11, 0];
    expect(windowsAgree(samples, 3, 10)).toBe(true);
    expect(windowsAgree(samples, 3, 9.9)).toBe(false);
    // Only the last three windows count: the early outliers are ignored.
    expect(windowsAgree([1000, 1000, 1000, ...[5, 5, 5, 5, 5, 5]], 2, 1)).toBe(true);
  });

  it('treats all-zero windows as agreeing and refuses bad parameters', () => {
    expect(windowsAgree([0, 0, 0], 1, 0)).toBe(true);
    expect(windowsAgree([0, 0, 1], 1, 50)).toBe(false);
    expect(() => windowsAgree([1, 2, 3], 0, 5)).toThrow('windowSize must be a positive integer, got 0');
    expect(() => windowsAgree([1, 2, 3], 1, -1)).toThrow(RangeError);
  });

  it('constant samples always agree, whatever the window', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.001, max: 1e4, noNaN: true }),
        fc.integer({ min: 1, max: 10 }),
        (v, w) => {
          expect(windowsAgree(new Array<number>(3 * w).fill(v), w, 0)).toBe(true);
        },
      ),
    );
  });
});
