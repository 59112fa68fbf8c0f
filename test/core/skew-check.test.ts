import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/core/io/manifest-load.js';
import { checkSkew } from '../../src/core/skew-check.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import type { HostTensor } from '../../src/core/tensor.js';
import { tensorStats } from '../../src/core/tensor-stats.js';

const manifest = (range: string, steps = '', extra = '') =>
  parseManifest(
    `version: 1\ninputs:\n  x:\n    dtype: float32\n    layout: NCHW\n    steps: [${steps}]\n    range: ${range}\n${extra}`,
    'm.yaml',
  );

/** A smooth-ish 3-channel image batch; `pixel(c, u)` maps channel and a 0..1 ramp value to a pixel. */
function images(pixel: (c: number, u: number) => number, n = 4, size = 16): HostTensor[] {
  const rng = new SeededRandom(7);
  return Array.from({ length: n }, () => {
    const data = new Float32Array(3 * size * size);
    const phase = rng.nextFloat();
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < size * size; i++) {
        const u =
          (0.5 + 0.45 * Math.sin(phase * 6 + (i % size) / 3 + Math.floor(i / size) / 5)) *
          (0.9 + 0.1 * rng.nextFloat());
        data[c * size * size + i] = pixel(c, Math.min(1, Math.max(0, u)));
      }
    return { dtype: 'float32', shape: [1, 3, size, size], data };
  });
}

const check = (m: ReturnType<typeof manifest>, tensors: HostTensor[]) =>
  checkSkew(m, { x: tensorStats(tensors, 'NCHW') });
const normalized = manifest(
  '{ min: -1, max: 1 }',
  '{ scale: 1/255 }, { normalize: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } }',
);

describe('checkSkew', () => {
  it('passes correctly preprocessed data', () => {
    expect(
      check(
        normalized,
        images((_c, u) => (u - 0.5) / 0.5),
      ),
    ).toEqual({ verdict: 'clean', findings: [] });
    expect(
      check(
        manifest('{ min: 0, max: 255 }'),
        images((_c, u) => Math.round(u * 255)),
      ).verdict,
    ).toBe('clean');
    expect(
      check(
        manifest('{ min: 0, max: 1 }'),
        images((_c, u) => u),
      ).verdict,
    ).toBe('clean');
  });

  it('names 0–255 data for a normalized model: scale 1/255 (then normalize) missing', () => {
    const report = check(
      normalized,
      images((_c, u) => Math.round(u * 255)),
    );
    expect(report.verdict).toBe('skew');
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({
      input: 'x',
      kind: 'scale-missing',
      expected: { min: -1, max: 1 },
    });
    expect(report.findings[0]!.message).toMatch(
      /^input 'x': values in \[\d+, \d+\] \(mean \d+\) \(0–255 data\), expected \[-1, 1\]; likely missing step: scale 1\/255 then normalize \(mean \[0\.5,0\.5,0\.5\], std \[0\.5,0\.5,0\.5\]\)$/,
    );
    const unit = check(
      manifest('{ min: 0, max: 1 }', '{ scale: 1/255 }'),
      images((_c, u) => u * 255),
    );
    expect(unit.findings[0]!.kind).toBe('scale-missing');
    expect(unit.findings[0]!.likelyStep).toBe('scale 1/255');
  });

  it('names 0–1 data for a model trained on 0–255: an extra scale step', () => {
    const f = check(
      manifest('{ min: 0, max: 255 }'),
      images((_c, u) => u),
    ).findings[0]!;
    expect(f.kind).toBe('scale-extra');
    expect(f.message).toContain(
      'likely missing step: none: a scale 1/255 was applied that the model does not expect',
    );
  });

  it('names 1/255 applied twice', () => {
    expect(
      check(
        manifest('{ min: 0, max: 1 }'),
        images((_c, u) => u / 255),
      ).findings[0]!.likelyStep,
    ).toBe('none: scale 1/255 applied twice');
  });

  it('names 0–1 data where normalization is expected: normalize missing', () => {
    const f = check(
      normalized,
      images((_c, u) => u),
    ).findings[0]!;
    expect(f.kind).toBe('normalize-missing');
    expect(f.likelyStep).toBe('normalize (mean [0.5,0.5,0.5], std [0.5,0.5,0.5])');
  });

  it('names NaN/Inf values', () => {
    const bad = images((_c, u) => u);
    (bad[0]!.data as Float32Array)[5] = NaN;
    (bad[1]!.data as Float32Array)[9] = Infinity;
    const f = check(manifest('{ min: 0, max: 1 }'), bad).findings[0]!;
    expect(f.kind).toBe('non-finite');
    expect(f.message).toBe(
      `input 'x': 2 NaN/Inf values (of ${4 * 3 * 256}), expected finite values in [0, 1]`,
    );
  });

  it('names other out-of-range data without guessing a step', () => {
    const f = check(
      manifest('{ min: 0, max: 1 }'),
      images((_c, u) => u * 3),
    ).findings[0]!;
    expect(f.kind).toBe('out-of-range');
    expect(f.likelyStep).toBeUndefined();
  });

  it('names BGR data for an RGB model where the per-channel statistics show it', () => {
    // Training stats before normalization differ per channel (ImageNet-like); the data arrives BGR.
    const imagenet = manifest(
      '{ min: -2.2, max: 2.7 }',
      '{ scale: 1/255 }, { normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } }',
      '    colorOrder: RGB\n    stats: { mean: [0, 0, 0], std: [1, 1, 1] }\n',
    );
    const rgbMeans = [0.485, 0.456, 0.406];
    const norm = (c: number, v: number) => (v - [0.485, 0.456, 0.406][c]!) / [0.229, 0.224, 0.225][c]!;
    // Pixels scattered around each channel's training mean (spread ≈ the training std).
    const pixel = (source: number) => (c: number, u: number) =>
      norm(c, rgbMeans[source === 0 ? c : 2 - c]! + 0.8 * (u - 0.5));
    expect(check(imagenet, images(pixel(0))).verdict).toBe('clean');
    const f = check(imagenet, images(pixel(1))).findings[0]!;
    expect(f.kind).toBe('color-order');
    expect(f.likelyStep).toBe('colorOrder RGB (swap channels 0 and 2)');
    expect(f.message).toMatch(
      /match the manifest's \[0,0,0\] only with channels 0 and 2 swapped \(BGR data\)/,
    );
  });

  it('names channel means far from the manifest stats', () => {
    const m = manifest(
      '{ min: 0, max: 1 }',
      '',
      '    stats: { mean: [0.2, 0.2, 0.2], std: [0.05, 0.05, 0.05] }\n',
    );
    const f = check(
      m,
      images((_c, u) => 0.6 + 0.1 * (u - 0.5)),
    ).findings[0]!;
    expect(f.kind).toBe('stats-mismatch');
    expect(f.message).toMatch(/channel 0 mean 0\.\d+, expected 0\.2 ± 0\.05 \(\d+(\.\d+)? std off\)/);
  });
});
