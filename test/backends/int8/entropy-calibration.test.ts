import { describe, expect, it } from 'vitest';
import { calibrateRange, entropyBinsFor, TensorHistogram } from '../../../src/backends/int8/calibration.js';
import { klWindow } from '../../../src/backends/int8/entropy-calibration.js';
import { calibrationGraph } from '../../../src/backends/int8/calibration-graph.js';
import { collectHistograms } from '../../../src/backends/int8/activation-capture.js';
import { foldAffine } from '../../../src/backends/int8/fold-affine.js';
import { quantizableTensors } from '../../../src/backends/int8/qdq-quantizer.js';
import { SeededRandom } from '../../../src/core/seeded-random.js';
import { CLS, textImage } from '../../../bench/int8.js';
import { ortCollect, ortEntropyThreshold } from './ort-entropy-reference.js';
import type { OrtHistogram } from './ort-entropy-reference.js';

/** kiln's histogram as ORT's get_entropy_threshold sees it: `bins` bins over [-bound, bound]. */
function asOrt(h: TensorHistogram, bins: number): OrtHistogram {
  const factor = h.counts.length / bins;
  const hist = new Array<number>(bins).fill(0);
  h.counts.forEach((c, i) => (hist[Math.floor(i / factor)] += c));
  const width = (2 * h.bound) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => -h.bound + i * width);
  return { hist, edges, min: h.min, max: h.max, threshold: h.bound };
}

function batches(
  seed: number,
  draw: (r: SeededRandom) => number,
  count: number,
  size: number,
): Float32Array[] {
  const r = new SeededRandom(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: size }, () => draw(r)));
}

const gaussian = (r: SeededRandom) => r.normal();
/** Laplacian(0, 1) with one value in 5,000 an outlier at ±(20..40). */
const laplacianWithOutliers = (r: SeededRandom) => {
  const sign = r.nextFloat() < 0.5 ? -1 : 1;
  if (r.nextFloat() < 0.0002) return sign * (20 + 20 * r.nextFloat());
  return sign * -Math.log(1 - r.nextFloat());
};

function kilnHistogram(data: Float32Array[]): TensorHistogram {
  const h = new TensorHistogram();
  for (const batch of data) h.add(batch);
  return h;
}

describe('entropy calibration against a port of ONNX Runtime', () => {
  for (const [name, draw] of [
    ['gaussian', gaussian],
    ['laplacian with outliers', laplacianWithOutliers],
  ] as const) {
    for (const bins of [128, 512, 4096]) {
      it(`${name}, ${bins} bins: kiln's window is ORT's on the same histogram`, () => {
        const h = kilnHistogram(batches(7, draw, 20, 10_000));
        const [lo, hi] = ortEntropyThreshold(asOrt(h, bins));
        const range = calibrateRange(h, 'entropy', 99.99, bins);
        expect(range.min).toBeCloseTo(lo, 9);
        expect(range.max).toBeCloseTo(hi, 9);
      });
    }
  }

  it('clips a laplacian with rare outliers well below its maximum, as ORT does on its own histogram', () => {
    // 4M values: enough for 1024 bins, so a window can be as narrow as an eighth of the range.
    const data = batches(11, laplacianWithOutliers, 20, 200_000);
    const h = kilnHistogram(data);
    const kiln = calibrateRange(h, 'entropy');
    let ort: OrtHistogram | undefined;
    for (const batch of data) ort = ortCollect(ort, batch, entropyBinsFor(h.count) / 2);
    const [lo, hi] = ortEntropyThreshold(ort as OrtHistogram);
    expect(h.max).toBeGreaterThan(20);
    expect(kiln.max).toBeLessThan(0.5 * h.max);
    expect(kiln.min).toBeGreaterThan(0.5 * h.min);
    // Laplacian(0, 1): keeping the bulk means at least the 99.9th percentile of |x| (≈ 6.9).
    expect(kiln.max).toBeGreaterThan(6.9);
    // Different bin edges (ORT's follow the first batch), same decision within a few percent.
    expect(Math.abs(kiln.max - hi) / hi).toBeLessThan(0.1);
    expect(Math.abs(kiln.min - lo) / -lo).toBeLessThan(0.1);
  });

  it('keeps the whole range of a sparse histogram (few values), where KL would reward clipping', () => {
    const h = kilnHistogram(batches(5, gaussian, 1, 800));
    expect(entropyBinsFor(h.count)).toBe(128);
    expect(calibrateRange(h, 'entropy')).toEqual({ min: h.min, max: h.max });
  });

  it('klWindow of an empty histogram is the whole histogram', () => {
    expect(klWindow(new Float64Array(256))).toEqual([0, 256]);
  });

  it("agrees with ORT on every activation of PP-OCR's classifier", async () => {
    const shape = [1, 3, 48, 192];
    const graph = foldAffine(await calibrationGraph(CLS, { x: shape })).model;
    const names = quantizableTensors(graph, {});
    const samples = Array.from({ length: 4 }, (_, seed) => textImage(seed, shape));
    const collector = await collectHistograms(graph, names, samples);
    let clipped = 0;
    for (const [name, h] of collector.tensors) {
      // kiln's default resolution for the tensor, and a fine one where KL does clip.
      for (const bins of [entropyBinsFor(h.count), 1024]) {
        const [lo, hi] = ortEntropyThreshold(asOrt(h, bins));
        const range = calibrateRange(h, 'entropy', 99.99, bins);
        expect([name, bins, range.min, range.max]).toEqual([name, bins, lo, hi]);
        if (bins === 1024 && (range.max < h.max || range.min > h.min)) clipped++;
      }
    }
    expect(collector.tensors.size).toBeGreaterThan(50);
    expect(clipped).toBeGreaterThan(10);
  }, 180_000);
});
