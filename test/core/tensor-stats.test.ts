import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { channelAxis, StatsAccumulator, tensorStats } from '../../src/core/tensor-stats.js';
import type { HostTensor } from '../../src/core/tensor.js';

const f32 = (shape: number[], values: number[]): HostTensor => ({
  dtype: 'float32',
  shape,
  data: Float32Array.from(values),
});

describe('channelAxis', () => {
  it('knows where each layout keeps channels', () => {
    expect(channelAxis('NCHW', 4)).toBe(1);
    expect(channelAxis('NHWC', 4)).toBe(3);
    expect(channelAxis('NC', 2)).toBe(1);
    expect(channelAxis('sequence', 2)).toBeUndefined();
    expect(channelAxis(undefined, 4)).toBeUndefined();
  });
});

describe('StatsAccumulator', () => {
  it('computes count, range, mean, population std and per-channel stats (NCHW)', () => {
    // Channel 0 holds 1..4, channel 1 holds 10, 10, 10, 10.
    const s = tensorStats([f32([1, 2, 2, 2], [1, 2, 3, 4, 10, 10, 10, 10])], 'NCHW');
    expect(s).toMatchObject({ count: 8, min: 1, max: 10, mean: 6.25 });
    expect(s.std).toBeCloseTo(
      Math.sqrt((5.25 ** 2 + 4.25 ** 2 + 3.25 ** 2 + 2.25 ** 2 + 4 * 3.75 ** 2) / 8),
      12,
    );
    expect(s.perChannel!.mean).toEqual([2.5, 10]);
    expect(s.perChannel!.std[0]).toBeCloseTo(Math.sqrt(1.25), 12);
    expect(s.perChannel!.std[1]).toBe(0);
    expect(s.histogram.counts.reduce((a, b) => a + b, 0)).toBe(8);
  });

  it('reads channels from the last dim for NHWC', () => {
    const s = tensorStats([f32([1, 2, 1, 2], [0, 100, 2, 102])], 'NHWC');
    expect(s.perChannel!.mean).toEqual([1, 101]);
  });

  it('counts NaN/Inf apart and keeps them out of every other statistic', () => {
    const s = tensorStats([f32([4], [1, NaN, Infinity, 3])]);
    expect(s).toMatchObject({ count: 2, nonFinite: 2, min: 1, max: 3, mean: 2 });
    expect(s.perChannel).toBeUndefined();
  });

  it('reports count 0 for no finite values', () => {
    expect(tensorStats([f32([2], [NaN, NaN])])).toMatchObject({ count: 0, nonFinite: 2 });
  });

  it('refuses a tensor whose channel count changed, naming it', () => {
    const acc = new StatsAccumulator('NCHW');
    acc.add(f32([1, 3, 1, 1], [1, 2, 3]));
    expect(() => acc.add(f32([1, 1, 1, 1], [1]), 'b.npy')).toThrow(
      'b.npy: 1x1x1x1 has 1 channels, earlier tensors had 3',
    );
  });

  it('streaming over chunks equals one pass, and the histogram covers every value exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double({ min: -1e4, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 40 }), {
          minLength: 1,
          maxLength: 6,
        }),
        (chunks) => {
          const all = chunks.flat();
          const streamed = tensorStats(
            chunks.map((c) => ({ dtype: 'float64', shape: [c.length], data: Float64Array.from(c) })),
          );
          const mean = all.reduce((a, b) => a + b, 0) / all.length;
          const std = Math.sqrt(all.reduce((a, b) => a + (b - mean) ** 2, 0) / all.length);
          expect(streamed.count).toBe(all.length);
          expect(streamed.min).toBe(Math.min(...all));
          expect(streamed.max).toBe(Math.max(...all));
          expect(streamed.mean).toBeCloseTo(mean, 6);
          expect(streamed.std).toBeCloseTo(std, 6);
          const { edges, counts } = streamed.histogram;
          expect(counts.reduce((a, b) => a + b, 0)).toBe(all.length);
          expect(edges[0]).toBeLessThanOrEqual(streamed.min);
          expect(edges.at(-1)).toBeGreaterThanOrEqual(streamed.max);
          // Every value sits in the bin the edges say (edges are exact up to rounding at a boundary).
          const [lo, hi] = [edges[0]!, edges.at(-1)!];
          for (const v of all) {
            const bin = Math.min(
              counts.length - 1,
              Math.max(0, Math.floor(((v - lo) / (hi - lo)) * counts.length)),
            );
            const near = (counts[bin - 1] ?? 0) + counts[bin]! + (counts[bin + 1] ?? 0);
            expect(near).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('grows the histogram range both ways by doubling, keeping counts exact', () => {
    const acc = new StatsAccumulator();
    acc.add(f32([2], [0, 1]));
    acc.add(f32([2], [-3, 200]));
    const { edges, counts } = acc.result().histogram;
    expect(counts.reduce((a, b) => a + b, 0)).toBe(4);
    expect(edges[0]).toBeLessThanOrEqual(-3);
    expect(edges.at(-1)).toBeGreaterThanOrEqual(200);
  });
});
