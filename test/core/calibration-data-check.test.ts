import { mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assertCalibrationData,
  checkCalibrationData,
  imageAutocorrelation,
  MIN_CALIBRATION_SAMPLES,
} from '../../src/core/calibration-data-check.js';
import { loadCalibrationSamples, readNpySamples } from '../../src/core/io/calibration-samples.js';
import { parseManifest } from '../../src/core/io/manifest-load.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import type { HostTensor } from '../../src/core/tensor.js';
import { npyFileName } from '../../src/core/npy.js';
import { writeNpy } from '../../src/core/io/npy-files.js';

const SIZE = 24;
const spec = { name: 'x', dtype: 'float32', dims: ['N', 3, SIZE, SIZE] as Array<number | string> };
const manifest = parseManifest(
  `version: 1\ninputs:\n  x:\n    dtype: float32\n    layout: NCHW\n    steps: [{ scale: 1/255 }]\n    range: { min: 0, max: 1 }\n`,
  'm.yaml',
);

/** Image-like: smooth shading plus a few dark strokes, values in 0..1 (times `scale`). */
function image(seed: number, scale = 1): HostTensor {
  const rng = new SeededRandom(seed);
  const data = new Float32Array(3 * SIZE * SIZE);
  const [fx, fy, base] = [rng.nextFloat() * 0.3, rng.nextFloat() * 0.3, 0.4 + 0.4 * rng.nextFloat()];
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < SIZE; y++)
      for (let x = 0; x < SIZE; x++)
        data[c * SIZE * SIZE + y * SIZE + x] = base + 0.15 * Math.sin(fx * x + fy * y + c);
  for (let s = 0; s < 4; s++) {
    const [x0, y0] = [Math.floor(rng.nextFloat() * (SIZE - 8)), Math.floor(rng.nextFloat() * SIZE)];
    for (let k = 0; k < 8; k++) for (let c = 0; c < 3; c++) data[c * SIZE * SIZE + y0 * SIZE + x0 + k] = 0.05;
  }
  return { dtype: 'float32', shape: [1, 3, SIZE, SIZE], data: data.map((v) => v * scale) };
}

function noise(seed: number, gaussian = false): HostTensor {
  const rng = new SeededRandom(seed);
  const data = new Float32Array(3 * SIZE * SIZE).map(() =>
    gaussian ? Math.min(1, Math.max(0, 0.5 + 0.15 * rng.normal())) : rng.nextFloat(),
  );
  return { dtype: 'float32', shape: [1, 3, SIZE, SIZE], data };
}

const samples = (make: (i: number) => HostTensor, n = 12) =>
  Array.from({ length: n }, (_, i) => ({ x: make(i) }));
const kinds = (r: ReturnType<typeof checkCalibrationData>) => r.problems.map((p) => p.kind);

describe('checkCalibrationData', () => {
  it('accepts image-like data in the manifest range and returns its statistics', () => {
    const report = checkCalibrationData(samples(image), manifest, [spec]);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.sampleCount).toBe(12);
    expect(report.stats.x!.perChannel!.mean).toHaveLength(3);
    expect(
      imageAutocorrelation(
        samples(image).map((s) => s.x),
        'NCHW',
      ),
    ).toBeGreaterThan(0.5);
  });

  it('refuses uniform and gaussian noise (neighbouring pixels uncorrelated)', () => {
    for (const gaussian of [false, true]) {
      const report = checkCalibrationData(
        samples((i) => noise(i, gaussian)),
        manifest,
        [spec],
      );
      expect(kinds(report)).toEqual(['noise']);
      expect(report.problems[0]!.message).toMatch(
        /^input 'x': neighbouring pixels are uncorrelated \(lag-1 autocorrelation -?0\.0\d*, images show > 0\.3\): random noise, not images$/,
      );
    }
  });

  it('refuses a flat histogram on a non-image layout', () => {
    const rng = new SeededRandom(3);
    const flat = samples(() => ({
      dtype: 'float32',
      shape: [1, 256],
      data: new Float32Array(256).map(() => rng.nextFloat()),
    }));
    const report = checkCalibrationData(flat, undefined, [{ name: 'x', dtype: 'float32', dims: ['N', 256] }]);
    expect(report.problems[0]!.message).toMatch(/spread uniformly over \[0(\.\d+)?, 1\] \(flat histogram\)/);
    const peaked = samples(() => ({
      dtype: 'float32',
      shape: [1, 256],
      data: new Float32Array(256).map(() => rng.normal()),
    }));
    expect(
      checkCalibrationData(peaked, undefined, [{ name: 'x', dtype: 'float32', dims: ['N', 256] }]).ok,
    ).toBe(true);
  });

  it('refuses constant tensors', () => {
    const blank = samples(() => ({
      dtype: 'float32',
      shape: [1, 3, SIZE, SIZE],
      data: new Float32Array(3 * SIZE * SIZE),
    }));
    const report = checkCalibrationData(blank, manifest, [spec]);
    expect(report.problems[0]!.message).toBe(
      "input 'x': every value is 0 across 12 samples (constant): a loader returning blank tensors?",
    );
    const mostlyBlank = samples((i) => (i < 8 ? blank[0]!.x : image(i)));
    expect(checkCalibrationData(mostlyBlank, manifest, [spec]).problems[0]!.message).toBe(
      "input 'x': 8 of 12 samples are constant tensors: a loader returning blank tensors?",
    );
  });

  it(`refuses fewer than ${MIN_CALIBRATION_SAMPLES} samples, counting along the batch dim`, () => {
    expect(checkCalibrationData(samples(image, 4), manifest, [spec]).problems[0]!.message).toBe(
      '4 calibration samples, expected at least 8 (hundreds recommended)',
    );
    const batch = {
      dtype: 'float32' as const,
      shape: [4, 3, SIZE, SIZE],
      data: new Float32Array(4 * 3 * SIZE * SIZE).map(
        (_, i) => (image(i % 7).data as Float32Array)[i % (3 * SIZE * SIZE)]!,
      ),
    };
    expect(checkCalibrationData([{ x: batch }, { x: batch }], manifest, [spec]).sampleCount).toBe(8);
  });

  it('refuses a range far from the manifest: the 0–255 vs 0–1 loader trap', () => {
    const report = checkCalibrationData(
      samples((i) => image(i, 255)),
      manifest,
      [spec],
    );
    expect(kinds(report)).toEqual(['range']);
    expect(report.problems[0]!.message).toMatch(
      /^input 'x': values in .*expected \[0, 1\]; likely missing step: scale 1\/255 \(manifest\)$/,
    );
  });

  it('refuses a dtype or shape the model does not take, and an empty set', () => {
    const f64 = samples((i) => ({
      ...image(i),
      dtype: 'float64',
      data: Float64Array.from(image(i).data as Float32Array),
    }));
    expect(checkCalibrationData(f64, manifest, [spec]).problems[0]!.message).toBe(
      "input 'x': dtype float64, expected float32",
    );
    const wide = samples(() => ({
      dtype: 'float32',
      shape: [1, 4, SIZE, SIZE],
      data: new Float32Array(4 * SIZE * SIZE),
    }));
    expect(checkCalibrationData(wide, manifest, [spec]).problems[0]!.message).toBe(
      "input 'x': sample 0 has shape 1x4x24x24, the model expects [?,3,24,24]",
    );
    const empty = checkCalibrationData([], manifest, [spec]);
    expect(kinds(empty)).toEqual(['empty']);
    expect(() => assertCalibrationData(empty, 'calib/det')).toThrow(
      'calib/det: calibration data refused: no calibration samples',
    );
  });

  it('assertCalibrationData throws the first problem in one line and counts the rest', () => {
    const report = checkCalibrationData(
      samples((i) => noise(i), 3),
      manifest,
      [spec],
    );
    expect(() => assertCalibrationData(report, 'calib')).toThrow(
      /^calib: calibration data refused: 3 calibration samples, expected at least 8 \(hundreds recommended\) \(\+1 more: noise\)$/,
    );
  });
});

describe('loadCalibrationSamples', () => {
  const shapes = { x: [1, 3, SIZE, SIZE] };

  it('names input files like the golden inputs do (one npyFileName for both)', async () => {
    expect(['x', 'input:0', 'a/b.c'].map(npyFileName)).toEqual(['x.npy', 'input%3A0.npy', 'a%2Fb.c.npy']);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-calib-'));
    await writeNpy(path.join(dir, '0', 'input%3A0.npy'), {
      dtype: 'float32',
      shape: [1],
      data: new Float32Array([2]),
    });
    const [sample] = await readNpySamples(dir, ['input:0']);
    expect(sample?.files['input:0']).toBe(path.join(dir, '0', 'input%3A0.npy'));
  });

  it('reads one sample per subfolder, and splits a batch file into profile-sized samples', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-calib-'));
    for (let i = 0; i < 3; i++) await writeNpy(path.join(dir, 'folders', `s${i}`, 'x.npy'), image(i));
    const batch = {
      dtype: 'float32' as const,
      shape: [6, 3, SIZE, SIZE],
      data: new Float32Array(6 * 3 * SIZE * SIZE).map((_, i) => Math.floor(i / (3 * SIZE * SIZE))),
    };
    await writeNpy(path.join(dir, 'batch', 'x.npy'), batch);
    const folders = await loadCalibrationSamples(path.join(dir, 'folders'), [spec], shapes);
    expect(folders.samples).toHaveLength(3);
    expect(folders.files.map((f) => path.relative(dir, f))).toEqual([
      'folders/s0/x.npy',
      'folders/s1/x.npy',
      'folders/s2/x.npy',
    ]);
    const split = await loadCalibrationSamples(path.join(dir, 'batch'), [spec], shapes);
    expect(split.samples.map((s) => [s.x!.shape, s.x!.data[0]])).toEqual(
      Array.from({ length: 6 }, (_, k) => [[1, 3, SIZE, SIZE], k]),
    );
  });

  it('refuses an empty folder, a wrong dtype and a mismatched shape, naming the file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-calib-'));
    await mkdir(path.join(dir, 'empty'));
    await expect(loadCalibrationSamples(path.join(dir, 'empty'), [spec], shapes)).rejects.toThrow(
      `${path.join(dir, 'empty')}: no .npy files, expected <sample>/<input>.npy folders or x.npy`,
    );
    const f64: HostTensor = {
      dtype: 'float64',
      shape: [1, 3, SIZE, SIZE],
      data: new Float64Array(3 * SIZE * SIZE),
    };
    await writeNpy(path.join(dir, 'f64', 's0', 'x.npy'), f64);
    await expect(loadCalibrationSamples(path.join(dir, 'f64'), [spec], shapes)).rejects.toThrow(
      `${path.join(dir, 'f64', 's0', 'x.npy')}: dtype float64, expected float32 for model input 'x'`,
    );
    await writeNpy(path.join(dir, 'shape', 'x.npy'), {
      dtype: 'float32',
      shape: [2, 3, 8, 8],
      data: new Float32Array(2 * 3 * 64),
    });
    await expect(loadCalibrationSamples(path.join(dir, 'shape'), [spec], shapes)).rejects.toThrow(
      `${path.join(dir, 'shape', 'x.npy')}: shape 2x3x8x8, expected the profile shape 1x3x24x24 or a batch N×3x24x24 for model input 'x'`,
    );
  });
});
