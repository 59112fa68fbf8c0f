import { describe, expect, it } from 'vitest';
import {
  clippingShare,
  inputDrift,
  judgeDrift,
  ksFromCounts,
  ksSamples,
  psi,
  PSI_EPSILON,
} from '../../src/core/drift.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import type { HostTensor } from '../../src/core/tensor.js';
import { tensorStats } from '../../src/core/tensor-stats.js';

function normalTensor(seed: number, n: number, mean = 0, std = 1): HostTensor {
  const rng = new SeededRandom(seed);
  return { dtype: 'float32', shape: [n], data: new Float32Array(n).map(() => mean + std * rng.normal()) };
}

describe('psi', () => {
  it('is 0 for identical distributions and matches the formula for a known shift', () => {
    expect(psi([10, 20, 30, 40], [1, 2, 3, 4])).toBeCloseTo(0, 12);
    // Σ (a − e) ln(a / e) with e = [0.5, 0.5], a = [0.9, 0.1].
    expect(psi([5, 5], [9, 1])).toBeCloseTo(0.4 * Math.log(0.9 / 0.5) + -0.4 * Math.log(0.1 / 0.5), 12);
  });

  it('floors empty bins at epsilon, so mass moving into an empty bin costs a finite, large amount', () => {
    const value = psi([10, 0], [0, 10]);
    expect(Number.isFinite(value)).toBe(true);
    expect(value).toBeCloseTo(2 * (1 - PSI_EPSILON) * Math.log(1 / PSI_EPSILON), 6);
  });
});

describe('ks', () => {
  it('exact two-sample statistic: 0 for equal samples, 1 for disjoint ones, a known value otherwise', () => {
    expect(ksSamples([1, 2, 3], [3, 2, 1])).toBe(0);
    expect(ksSamples([1, 2, 3], [4, 5, 6])).toBe(1);
    expect(ksSamples([1, 2, 3, 4], [3, 4, 5, 6])).toBe(0.5);
  });

  it('on counts: the largest gap between the cumulative shares', () => {
    expect(ksFromCounts([1, 1, 1, 1], [2, 2, 2, 2])).toBe(0);
    expect(ksFromCounts([4, 0, 0, 0], [0, 0, 0, 4])).toBe(1);
    expect(ksFromCounts([1, 1, 1, 1], [2, 1, 1, 0])).toBeCloseTo(0.25, 12);
  });
});

describe('inputDrift', () => {
  const calibration = tensorStats([normalTensor(1, 20000)]);

  it('same distribution (fresh samples): PSI and KS near 0', () => {
    const d = inputDrift('x', calibration, [normalTensor(2, 20000)]);
    expect(d.psi).toBeLessThan(0.01);
    expect(d.ks).toBeLessThan(0.03);
    expect(d.outsideShare).toBeLessThan(0.001);
  });

  it('a shifted distribution: PSI and KS large, and the KS on bins tracks the exact one', () => {
    const serving = normalTensor(3, 20000, 1);
    const d = inputDrift('x', calibration, [serving]);
    expect(d.psi).toBeGreaterThan(0.25);
    expect(d.ks).toBeGreaterThan(0.3);
    const exact = ksSamples(normalTensor(1, 20000).data as Float32Array, serving.data as Float32Array);
    const binWidth = (calibration.max - calibration.min) / 64;
    expect(Math.abs(d.ks - exact)).toBeLessThan(binWidth);
  });

  it('0–255 data against 0–1 calibration: everything lands above the range', () => {
    const unit = tensorStats([
      { dtype: 'float32', shape: [1000], data: new Float32Array(1000).map((_, i) => i / 999) },
    ]);
    const bytes: HostTensor = {
      dtype: 'float32',
      shape: [1000],
      data: new Float32Array(1000).map((_, i) => (i / 999) * 255),
    };
    const d = inputDrift('x', unit, [bytes]);
    expect(d.outsideShare).toBeGreaterThan(0.99);
    expect(d.psi).toBeGreaterThan(5);
    expect(d.ks).toBeGreaterThan(0.99);
  });
});

describe('clippingShare and judgeDrift', () => {
  const values: HostTensor = {
    dtype: 'float32',
    shape: [10],
    data: Float32Array.from([-2, -1, 0, 1, 2, 3, 4, 5, NaN, 9]),
  };

  it('counts values outside the calibrated range (NaN clips)', () => {
    const c = clippingShare('conv1', { min: -1, max: 4 }, [values]);
    expect(c).toMatchObject({ clipped: 4, total: 10, share: 0.4 });
  });

  it('names the worst offender relative to its own limit', () => {
    const calibration = tensorStats([normalTensor(1, 5000)]);
    const inputs = [
      inputDrift('x', calibration, [normalTensor(2, 5000)]),
      inputDrift('y', calibration, [normalTensor(3, 5000, 2)]),
    ];
    const verdict = judgeDrift(inputs, [clippingShare('conv1', { min: -10, max: 10 }, [values])]);
    expect(verdict.pass).toBe(false);
    expect(verdict.worst).toMatchObject({ kind: 'psi', name: 'y' });
    expect(verdict.message).toMatch(
      /^drift: input 'y' PSI [\d.]+ > 0\.25 \(serving \[.*\], calibration \[.*\], [\d.]+% outside\)$/,
    );
    const clip = judgeDrift(inputs.slice(0, 1), [clippingShare('conv1', { min: -1, max: 4 }, [values])]);
    expect(clip.message).toBe(
      "drift: activation 'conv1' clips 40% of values > 1% (calibrated [-1, 4], serving [-2, 9])",
    );
    const fine = judgeDrift(inputs.slice(0, 1), []);
    expect(fine.pass).toBe(true);
    expect(fine.message).toMatch(/^no drift beyond limits; closest: input 'x'/);
  });
});
