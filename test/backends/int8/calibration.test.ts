import { describe, expect, it } from 'vitest';
import {
  calibrate,
  calibrateRange,
  HistogramCollector,
  quantizationParams,
  TensorHistogram,
} from '../../../src/backends/int8/calibration.js';
import { SeededRandom } from '../../../src/core/seeded-random.js';

function histogramOf(...batches: number[][]): TensorHistogram {
  const h = new TensorHistogram();
  for (const batch of batches) h.add(Float32Array.from(batch));
  return h;
}

describe('TensorHistogram', () => {
  it('keeps exact min/max and every count while its range grows by merging bins', () => {
    const h = histogramOf([0.1, -0.2, 0.05], [3.5, -7.25], [0, 0]);
    expect([h.min, h.max, h.count]).toEqual([-7.25, 3.5, 7]);
    expect(h.bound).toBeGreaterThanOrEqual(7.25);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(7);
  });

  it('counts zeros seen before any non-zero value, and ignores NaN', () => {
    const h = histogramOf([0, 0, Number.NaN], [1]);
    expect(h.count).toBe(3);
    expect(h.quantile(0.5)).toBeCloseTo(0, 2);
  });

  it('condenses to at most 128 bins with matching edges and all counts', () => {
    const r = new SeededRandom(1);
    const h = histogramOf(Array.from({ length: 5000 }, () => r.normal()));
    const { edges, counts } = h.condensed();
    expect(counts.length).toBeLessThanOrEqual(128);
    expect(edges.length).toBe(counts.length + 1);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(5000);
    expect(edges[0]).toBeLessThanOrEqual(h.min);
    expect(edges.at(-1)).toBeGreaterThanOrEqual(h.max);
  });
});

describe('calibrateRange', () => {
  const ramp = Array.from({ length: 10_001 }, (_, i) => i / 10_000 - 0.5); // -0.5 .. 0.5

  it('minmax is exactly the observed range', () => {
    expect(calibrateRange(histogramOf(ramp), 'minmax')).toEqual({ min: -0.5, max: 0.5 });
  });

  it('percentile cuts each tail at (100-p)%, within one bin', () => {
    const h = histogramOf(ramp);
    const { min, max } = calibrateRange(h, 'percentile', 99);
    expect(Math.abs(max - 0.49)).toBeLessThanOrEqual(h.binWidth);
    expect(Math.abs(min + 0.49)).toBeLessThanOrEqual(h.binWidth);
  });

  it('percentile keeps a non-negative tensor one-sided (its minimum, not a negative cut)', () => {
    const h = histogramOf(ramp.map((v) => v + 0.5));
    const { min, max } = calibrateRange(h, 'percentile', 99.9);
    expect(min).toBe(0);
    expect(Math.abs(max - 0.999)).toBeLessThanOrEqual(h.binWidth);
  });

  it('entropy on a fine histogram clips a long tail well below the maximum', () => {
    const r = new SeededRandom(2);
    const values = Array.from({ length: 100_000 }, () => r.normal());
    for (let i = 0; i < 20; i++) values.push(40 + i); // rare outliers
    const h = histogramOf(values);
    // 100k values get 128 bins by default (no room to clip); all 4096 make the KL search fine.
    const { max } = calibrateRange(h, 'entropy', 99.99, 4096);
    expect(max).toBeLessThan(0.5 * h.max);
    expect(max).toBeGreaterThan(2); // keeps the bulk of a standard normal
  });

  it('entropy keeps ≈ the maximum for a uniform distribution', () => {
    const r = new SeededRandom(3);
    const h = histogramOf(Array.from({ length: 200_000 }, () => r.nextFloat()));
    const { max } = calibrateRange(h, 'entropy');
    expect(max).toBeGreaterThan(0.95 * h.max);
  });
});

describe('quantizationParams', () => {
  it('uint8 asymmetric maps min to 0 and max to 255', () => {
    const { scale, zeroPoint } = quantizationParams(-1, 3, 'uint8');
    expect(scale).toBeCloseTo(4 / 255, 12);
    expect(zeroPoint).toBe(64);
  });

  it('int8 is symmetric with zero point 0, and ranges always contain 0', () => {
    expect(quantizationParams(-2, 1, 'int8')).toEqual({ scale: 2 / 127, zeroPoint: 0 });
    expect(quantizationParams(2, 4, 'uint8')).toEqual({ scale: 4 / 255, zeroPoint: 0 });
  });

  it('an empty range gets scale 1', () => {
    expect(quantizationParams(0, 0, 'uint8')).toEqual({ scale: 1, zeroPoint: 0 });
  });
});

describe('calibrate', () => {
  it('gives every collected tensor its range, parameters and histogram (the artifact.json shape)', () => {
    const collector = new HistogramCollector();
    collector.add('b', [0, 1, 2]);
    collector.add('a', [-1, 1]);
    collector.add('a', [-3]);
    const result = calibrate(collector, 'minmax', 99.99, 'uint8');
    expect(result.method).toBe('minmax');
    expect(Object.keys(result.activations)).toEqual(['a', 'b']);
    expect(result.activations.a).toMatchObject({ min: -3, max: 1, scale: 4 / 255, zeroPoint: 191 });
    expect(result.activations.b?.histogram?.counts.reduce((x, y) => x + y, 0)).toBe(3);
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });
});
