import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blockBootstrapRatio, pooledSorted } from '../../src/core/block-bootstrap.js';
import { compareLatency, compareLatencyBlocks } from '../../src/core/latency-regression.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { percentile } from '../../src/core/statistics.js';

const gate = { metric: 'p50', maxRegressionPct: 10, confidence: 0.95, resamples: 400 } as const;

/** `k` blocks of `m` samples: each block's mean drawn with `spread` around 1 ms, 1% jitter inside. */
function blocks(seed: number, k: number, m: number, spread: number): number[][] {
  const rng = new SeededRandom(seed);
  return Array.from({ length: k }, () => {
    const mean = 1 + spread * (2 * rng.nextFloat() - 1);
    return Array.from({ length: m }, () => mean * Math.exp(0.01 * rng.normal()));
  });
}

const width = (ci: readonly [number, number]) => ci[1] - ci[0];

describe('block bootstrap', () => {
  it('is wider than resampling single samples when block means differ (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 6, max: 12 }),
        fc.integer({ min: 20, max: 60 }),
        fc.double({ min: 0.05, max: 0.3, noNaN: true }),
        (seed, k, m, spread) => {
          const base = blocks(seed, k, m, spread);
          const head = blocks(seed + 1, k, m, spread);
          const byBlock = compareLatencyBlocks(base, head, gate);
          const bySample = compareLatency(base.flat(), head.flat(), gate);
          expect(byBlock.ratio).toBe(bySample.ratio);
          expect(width(byBlock.ci)).toBeGreaterThan(width(bySample.ci));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('agrees with the per-sample interval when blocks do not differ', () => {
    const rng = new SeededRandom(3);
    const flat = (n: number) => Array.from({ length: n }, () => Math.exp(0.05 * rng.normal()));
    const split = (xs: number[]) => Array.from({ length: 10 }, (_, i) => xs.slice(i * 50, i * 50 + 50));
    const [a, b] = [flat(500), flat(500)];
    const byBlock = compareLatencyBlocks(split(a), split(b), gate);
    const bySample = compareLatency(a, b, gate);
    expect(width(byBlock.ci)).toBeLessThan(2 * width(bySample.ci));
    expect(width(byBlock.ci)).toBeGreaterThan(0.5 * width(bySample.ci));
  });

  it('takes the ratio of pooled percentiles and holds it inside the interval', () => {
    const [a, b] = [blocks(1, 8, 30, 0.2), blocks(2, 8, 30, 0.2).map((x) => x.map((v) => 1.5 * v))];
    const r = blockBootstrapRatio(a, b, 50, 0.95, 300, new SeededRandom(1));
    expect(r.ratio).toBe(percentile(pooledSorted(b), 50) / percentile(pooledSorted(a), 50));
    expect(r.ci[0]).toBeLessThanOrEqual(r.ratio);
    expect(r.ci[1]).toBeGreaterThanOrEqual(r.ratio);
  });

  it('is unstable with fewer than 5 blocks a side, whatever the samples say', () => {
    const a = blocks(1, 4, 300, 0.01);
    const b = blocks(2, 4, 300, 0.01).map((x) => x.map((v) => 2 * v));
    const r = compareLatencyBlocks(a, b, gate);
    expect(r.verdict).toBe('unstable');
    expect(r.note).toBe('fewer than 5 blocks per side (4/4)');
    expect(() => compareLatencyBlocks([], b, gate)).toThrow(RangeError);
    expect(() => compareLatencyBlocks([[1, -1]], b, gate)).toThrow(RangeError);
  });
});
