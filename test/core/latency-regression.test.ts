import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareLatency, detectorRates } from '../../src/core/latency-regression.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { percentile } from '../../src/core/statistics.js';

const gate = { maxRegressionPct: 10, confidence: 0.95 } as const;

/** `n` log-normal latencies around `medianMs`. */
function lognormal(seed: number, n: number, medianMs = 10, sigma = 0.1): number[] {
  const rng = new SeededRandom(seed);
  return Array.from({ length: n }, () => medianMs * Math.exp(sigma * rng.normal()));
}

describe('compareLatency', () => {
  const base = lognormal(1, 200);

  it('calls identical samples unchanged with ratio 1', () => {
    for (const metric of ['p50', 'p99'] as const) {
      const r = compareLatency(base, [...base], { ...gate, metric });
      expect(r.ratio).toBe(1);
      expect(r.verdict).toBe('unchanged');
      expect(r.ci[0]).toBeLessThanOrEqual(1);
      expect(r.ci[1]).toBeGreaterThanOrEqual(1);
    }
    const flat = compareLatency(
      [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5],
      Array(20).fill(5),
      {
        ...gate,
        metric: 'p50',
      },
    );
    expect(flat).toEqual({ ratio: 1, ci: [1, 1], verdict: 'unchanged', statistic: 'p50' });
  });

  it('flags a clear 2x slowdown as a regression and a 2x speedup as an improvement', () => {
    const head = lognormal(2, 200);
    for (const metric of ['p50', 'p99'] as const) {
      const slow = compareLatency(
        base,
        head.map((x) => 2 * x),
        { ...gate, metric },
      );
      expect(slow.verdict).toBe('regression');
      expect(slow.ratio).toBeGreaterThan(1.8);
      expect(slow.ci[0]).toBeGreaterThan(1);
      const fast = compareLatency(
        base,
        head.map((x) => x / 2),
        { ...gate, metric },
      );
      expect(fast.verdict).toBe('improvement');
      expect(fast.ci[1]).toBeLessThan(1);
    }
  });

  it('calls a significant but sub-half-gate slowdown unchanged, and unstable when a side never settled', () => {
    // ratio exactly 1.04: real (interval above 1) but below the decision point 1.05, which it straddles.
    const head = base.map((x) => 1.04 * x);
    const steady = compareLatency(base, head, { ...gate, metric: 'p50' });
    expect(steady.ratio).toBeCloseTo(1.04, 12);
    expect(steady.ci[0]).toBeGreaterThan(1);
    expect(steady.ci[0]).toBeLessThan(1.05);
    expect(steady.ci[1]).toBeGreaterThan(1.05);
    expect(steady.ci[1]).toBeLessThan(1.1);
    expect(steady.verdict).toBe('unchanged');
    const shaky = compareLatency(base, head, { ...gate, metric: 'p50', headStable: false });
    expect(shaky.verdict).toBe('unstable');
    expect(shaky.note).toMatch(/never settled/);
    // An unsteady runner does not veto a clear result.
    const clear = compareLatency(
      base,
      base.map((x) => 1.3 * x),
      { ...gate, metric: 'p50', baseStable: false },
    );
    expect(clear.verdict).toBe('regression');
  });

  it('calls an interval that holds both 1 and 1 + gate unstable', () => {
    const r = compareLatency(lognormal(3, 30, 10, 0.6), lognormal(4, 30, 10.5, 0.6), {
      ...gate,
      metric: 'p50',
    });
    expect(r.ci[0]).toBeLessThanOrEqual(1);
    expect(r.ci[1]).toBeGreaterThanOrEqual(1.1);
    expect(r.verdict).toBe('unstable');
    expect(r.note).toMatch(/too wide/);
  });

  it('compares p99 only with >= 1000 samples per side, else p90, and needs 20 samples at all', () => {
    const head = lognormal(5, 200);
    const fallback = compareLatency(base, head, { ...gate, metric: 'p99' });
    const sorted = (xs: number[]) => Float64Array.from(xs).sort();
    expect(fallback.ratio).toBe(percentile(sorted(head), 90) / percentile(sorted(base), 90));
    expect(fallback.note).toBe('p99 gated as p90 (200 samples per side; p99 needs 1000)');
    expect(fallback.statistic).toBe('p90');
    const at = (n: number) => compareLatency(base.slice(0, n), head.slice(0, n), { ...gate, metric: 'p99' });
    expect(at(100).note).toMatch(/^p99 gated as p90 /);
    expect(at(99).note).toMatch(/^p99 gated as p50 /);
    expect(at(99).statistic).toBe('p50');
    const big = [lognormal(6, 1000), lognormal(7, 1200)] as const;
    const full = compareLatency(big[0], big[1], { ...gate, metric: 'p99', resamples: 200 });
    expect(full.ratio).toBe(percentile(sorted(big[1]), 99) / percentile(sorted(big[0]), 99));
    expect(full.note).toBeUndefined();
    expect(full.statistic).toBe('p99');
    const tiny = compareLatency(base.slice(0, 50), head.slice(0, 19), { ...gate, metric: 'p99' });
    expect(tiny.verdict).toBe('unstable');
    expect(tiny.note).toBe(
      'p99 gated as p50 (50/19 samples per side; p99 needs 1000); fewer than 20 samples per side (50/19)',
    );
  });

  it('is deterministic for a seed', () => {
    const head = lognormal(8, 200);
    const options = { ...gate, metric: 'p50', seed: 42 } as const;
    expect(compareLatency(base, head, options)).toEqual(compareLatency(base, head, options));
    expect(compareLatency(base, head, { ...options, seed: 43 }).ci).not.toEqual(
      compareLatency(base, head, options).ci,
    );
  });

  it('returns an interval that contains the ratio', () => {
    const samples = fc.array(fc.double({ min: 0.1, max: 100, noNaN: true }), { minLength: 1, maxLength: 60 });
    fc.assert(
      fc.property(samples, samples, fc.constantFrom('p50', 'p99'), fc.nat(), (a, b, metric, seed) => {
        const r = compareLatency(a, b, { ...gate, metric, seed, resamples: 50 });
        expect(r.ci[0]).toBeLessThanOrEqual(r.ratio);
        expect(r.ratio).toBeLessThanOrEqual(r.ci[1]);
      }),
    );
  });

  it('bootstraps exactly the percentile of each sorted resample', () => {
    // The reference draws the same ranks in the same order (head, then base) and sorts each resample.
    const ints = fc.integer({ min: 1, max: 8 });
    // Short sides compare p50 (walked up from the bottom), long ones p90 (walked down from the top).
    const samples = fc.oneof(
      fc.array(ints, { minLength: 1, maxLength: 30 }),
      fc.array(ints, { minLength: 100, maxLength: 150 }),
    );
    fc.assert(
      fc.property(
        samples,
        samples,
        fc.nat(),
        fc.double({ min: 0.55, max: 0.99, noNaN: true }),
        (a, b, seed, confidence) => {
          const resamples = 30;
          const r = compareLatency(a, b, {
            metric: 'p99',
            maxRegressionPct: 10,
            confidence,
            seed,
            resamples,
          });
          const n = Math.min(a.length, b.length);
          const p = n >= 100 ? 90 : 50;
          const rng = new SeededRandom(seed);
          const sa = Float64Array.from(a).sort();
          const sb = Float64Array.from(b).sort();
          const draw = (s: Float64Array) =>
            percentile(
              Float64Array.from(
                s,
                () => s[Math.floor((rng.nextUint32() * s.length) / 2 ** 32)] as number,
              ).sort(),
              p,
            );
          const ratios = Float64Array.from({ length: resamples }, () => draw(sb) / draw(sa)).sort();
          const alpha = ((1 - confidence) / 2) * 100;
          const ratio = percentile(sb, p) / percentile(sa, p);
          expect(r.ratio).toBe(ratio);
          expect(r.ci).toEqual([
            Math.min(ratio, percentile(ratios, alpha)),
            Math.max(ratio, percentile(ratios, 100 - alpha)),
          ]);
        },
      ),
    );
  });

  it('refuses empty or non-positive samples and bad options', () => {
    const opts = { ...gate, metric: 'p50' } as const;
    expect(() => compareLatency([], base, opts)).toThrow('base latency samples must be');
    expect(() => compareLatency(base, [1, 0], opts)).toThrow(RangeError);
    expect(() => compareLatency(base, [1, NaN], opts)).toThrow(RangeError);
    expect(() => compareLatency(base, base, { ...opts, confidence: 1 })).toThrow(RangeError);
    expect(() => compareLatency(base, base, { ...opts, maxRegressionPct: 0 })).toThrow(RangeError);
    expect(() => compareLatency(base, base, { ...opts, resamples: 0 })).toThrow(RangeError);
  });

  it('runs 2000 resamples of 300 samples per side well under 100 ms', () => {
    const a = lognormal(9, 300);
    const b = lognormal(10, 300);
    const times = [0, 1, 2].map(() => {
      const start = performance.now();
      compareLatency(a, b, { ...gate, metric: 'p99' });
      return performance.now() - start;
    });
    expect(Math.min(...times)).toBeLessThan(100);
  });
});

describe('detectorRates, n = 200 per side, 10% gate, 95% confidence', () => {
  const settings = { n: 200, ...gate } as const;

  for (const metric of ['p50', 'p99'] as const) {
    for (const noise of ['lognormal', 'spiky'] as const) {
      it(`${metric}, ${noise} noise: A/A false alarms <= 1%, a true 10% slowdown caught >= 95%`, () => {
        const aa = detectorRates({ ...settings, metric, noise, trials: 250, shiftPct: 0, seed: 11 });
        expect(aa.alarmRate).toBeLessThanOrEqual(0.01);
        const shifted = detectorRates({ ...settings, metric, noise, trials: 120, shiftPct: 10, seed: 12 });
        expect(shifted.alarmRate).toBeGreaterThanOrEqual(0.95);
      });
    }
  }

  it('sits near 50% at half the gate, the decision point, and is deterministic for a seed', () => {
    const half = { ...settings, metric: 'p50', noise: 'spiky', trials: 80, shiftPct: 5, seed: 13 } as const;
    const rate = detectorRates(half).alarmRate;
    expect(rate).toBeGreaterThan(0.2);
    expect(rate).toBeLessThan(0.8);
    const few = { ...half, trials: 12 };
    expect(detectorRates(few)).toEqual(detectorRates(few));
  });
});
