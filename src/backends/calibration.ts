/**
 * INT8 range calibration: per-activation histograms accumulated over calibration samples, turned
 * into quantization ranges by one of three methods (minmax, percentile, entropy) and then into the
 * scale and zero point a QuantizeLinear node uses. The result is stored in artifact.json under
 * `calibration` and read back by `kiln drift`, so its shape is part of the contract.
 */

/** How a tensor's float range is chosen from what calibration saw. */
export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy';

/** Integer type of quantized activations: uint8 asymmetric (ORT's CPU default) or int8 symmetric. */
export type ActivationType = 'uint8' | 'int8';

/** One activation's calibrated range and quantization parameters. */
export interface ActivationCalibration {
  /** The float range quantized without clipping (always contains 0). */
  min: number;
  max: number;
  scale: number;
  zeroPoint: number;
  /** What calibration saw, condensed to at most {@link STORED_BINS} bins over the observed range. */
  histogram?: { edges: number[]; counts: number[] };
}

/** Stored in artifact.json as `calibration`; `kiln drift` reads `activations`. */
export interface CalibrationResult {
  method: CalibrationMethod;
  activations: Record<string, ActivationCalibration>;
}

/** Bins per side of zero: TensorRT's entropy calibration works on 2048 bins of |x|. */
const HALF_BINS = 2048;
const BINS = 2 * HALF_BINS;
/** Quantized bins the entropy method compares against: 128 levels of one sign of int8. */
const TARGET_BINS = 128;
/** Enough resolution for PSI and clip share in `kiln drift`, small enough for artifact.json. */
export const STORED_BINS = 128;

/**
 * Running statistics of one tensor: exact min/max plus a 4096-bin histogram over [-A, A], where A
 * grows by powers of two as larger values arrive so old bins merge exactly into new ones. A symmetric
 * range keeps |x| (what entropy calibration needs) a simple fold of the two halves.
 */
export class TensorHistogram {
  min = Infinity;
  max = -Infinity;
  count = 0;
  /** Half-width of the histogram range; 0 until a non-zero value is seen. */
  bound = 0;
  readonly counts = new Float64Array(BINS);
  private zeros = 0;

  /** Adds every finite value of `data`; NaN and infinities are ignored (they have no int8 code). */
  add(data: ArrayLike<number>): void {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as number;
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo > hi) return;
    let finite = 0;
    this.min = Math.min(this.min, lo);
    this.max = Math.max(this.max, hi);
    const amax = Math.max(-lo, hi);
    if (amax > this.bound) this.grow(amax);
    if (this.bound === 0) {
      // Everything finite is 0: keep the count until a non-zero value fixes the bin width.
      for (let i = 0; i < data.length; i++) if (Number.isFinite(data[i] as number)) finite++;
      this.zeros += finite;
      this.count += finite;
      return;
    }
    const perBin = BINS / (2 * this.bound);
    const counts = this.counts;
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as number;
      if (!Number.isFinite(v)) continue;
      const bin = Math.floor((v + this.bound) * perBin);
      counts[bin >= BINS ? BINS - 1 : bin] += 1;
      this.count += 1;
    }
  }

  // Doubling the bound merges bin pairs exactly; the zeros seen while the bound was 0 land in the
  // bin that starts at 0, as they would have.
  private grow(amax: number): void {
    if (this.bound === 0) {
      this.bound = amax;
      this.counts[HALF_BINS] += this.zeros;
      this.zeros = 0;
      return;
    }
    let factor = 1;
    while (this.bound * factor < amax) factor *= 2;
    const old = Float64Array.from(this.counts);
    this.counts.fill(0);
    const shift = (factor - 1) * HALF_BINS;
    for (let i = 0; i < BINS; i++) {
      if (old[i] !== 0) this.counts[Math.floor((i + shift) / factor)] += old[i] as number;
    }
    this.bound *= factor;
  }

  /** Width of one bin. */
  get binWidth(): number {
    return (2 * this.bound) / BINS;
  }

  /** The value below which a share `q` (0..1) of the samples lie, interpolated within its bin. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    if (this.bound === 0) return 0;
    const target = q * this.count;
    let seen = 0;
    for (let i = 0; i < BINS; i++) {
      const c = this.counts[i] as number;
      if (c > 0 && seen + c >= target) {
        const at = -this.bound + (i + (target - seen) / c) * this.binWidth;
        return Math.min(this.max, Math.max(this.min, at));
      }
      seen += c;
    }
    return this.max;
  }

  /** Counts of |x| in 2048 bins over [0, A]. */
  absCounts(): Float64Array {
    const abs = new Float64Array(HALF_BINS);
    for (let k = 0; k < HALF_BINS; k++) {
      abs[k] = (this.counts[HALF_BINS + k] as number) + (this.counts[HALF_BINS - 1 - k] as number);
    }
    return abs;
  }

  /** The histogram trimmed to its non-empty bins and merged down to at most `bins` bins. */
  condensed(bins = STORED_BINS): { edges: number[]; counts: number[] } {
    let first = 0;
    let last = BINS - 1;
    while (first < last && this.counts[first] === 0) first++;
    while (last > first && this.counts[last] === 0) last--;
    const group = Math.ceil((last - first + 1) / bins);
    const edges = [-this.bound + first * this.binWidth];
    const counts: number[] = [];
    for (let start = first; start <= last; start += group) {
      const end = Math.min(start + group, last + 1);
      let sum = 0;
      for (let i = start; i < end; i++) sum += this.counts[i] as number;
      counts.push(sum);
      edges.push(-this.bound + end * this.binWidth);
    }
    return { edges, counts };
  }
}

/** Accumulates histograms for many named tensors, one sample at a time. */
export class HistogramCollector {
  readonly tensors = new Map<string, TensorHistogram>();

  add(name: string, data: ArrayLike<number>): void {
    let histogram = this.tensors.get(name);
    if (!histogram) this.tensors.set(name, (histogram = new TensorHistogram()));
    histogram.add(data);
  }
}

/**
 * The float range to quantize for one tensor.
 * - minmax: exactly what was seen.
 * - percentile: the (100-p)th and p-th percentiles, so each tail loses (100-p)% of the values; a
 *   non-negative tensor (after ReLU) keeps its lower end at its minimum, so it stays one-sided.
 * - entropy: a symmetric |x| threshold by TensorRT's KL method, intersected with the seen range.
 */
export function calibrateRange(
  histogram: TensorHistogram,
  method: CalibrationMethod,
  percentile = 99.99,
): { min: number; max: number } {
  if (histogram.count === 0) return { min: 0, max: 0 };
  if (method === 'minmax' || histogram.bound === 0) return { min: histogram.min, max: histogram.max };
  if (method === 'percentile') {
    const tail = (100 - percentile) / 100;
    const lo = histogram.min >= 0 ? histogram.min : histogram.quantile(tail);
    const hi = histogram.max <= 0 ? histogram.max : histogram.quantile(1 - tail);
    return { min: lo, max: hi };
  }
  const threshold = entropyThreshold(histogram.absCounts(), histogram.binWidth);
  return { min: Math.max(histogram.min, -threshold), max: Math.min(histogram.max, threshold) };
}

/**
 * TensorRT's entropy calibration (Szymon Migacz, "8-bit Inference with TensorRT", NVIDIA GTC 2017):
 * for each candidate cut i of the 2048-bin |x| histogram (i = 128..2048), P is the histogram cut at
 * i with the clipped tail added to its last bin, Q is the first i bins merged into 128 levels and
 * expanded back over the bins that were non-empty; the threshold is the cut minimizing KL(P || Q).
 * @returns the threshold as a value of |x| (the upper edge of the last kept bin).
 */
export function entropyThreshold(absCounts: Float64Array, binWidth: number): number {
  const n = absCounts.length;
  const suffix = new Float64Array(n + 1);
  for (let i = n - 1; i >= 0; i--) suffix[i] = (suffix[i + 1] as number) + (absCounts[i] as number);
  if ((suffix[0] as number) === 0) return 0;
  let best = n;
  let bestKl = Infinity;
  const p = new Float64Array(n);
  const q = new Float64Array(n);
  for (let i = Math.min(TARGET_BINS, n); i <= n; i++) {
    p.set(absCounts.subarray(0, i));
    p[i - 1] = (p[i - 1] as number) + (suffix[i] as number);
    for (let g = 0; g < TARGET_BINS; g++) {
      const start = Math.floor((g * i) / TARGET_BINS);
      const end = Math.max(start + 1, Math.floor(((g + 1) * i) / TARGET_BINS));
      let total = 0;
      let nonEmpty = 0;
      for (let j = start; j < end && j < i; j++) {
        total += absCounts[j] as number;
        if ((p[j] as number) !== 0) nonEmpty++;
      }
      for (let j = start; j < end && j < i; j++) q[j] = (p[j] as number) !== 0 ? total / nonEmpty : 0;
    }
    const kl = divergence(p, q, i);
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  }
  return best * binWidth;
}

// KL(P || Q) over the first `length` bins, both normalized; a bin that P has and Q lacks (the clipped
// tail piled into an empty bin) gets a small floor instead of an infinite penalty, as TensorRT does.
function divergence(p: Float64Array, q: Float64Array, length: number): number {
  let sumP = 0;
  let sumQ = 0;
  for (let j = 0; j < length; j++) {
    sumP += p[j] as number;
    sumQ += q[j] as number;
  }
  if (sumQ === 0) return Infinity;
  let kl = 0;
  for (let j = 0; j < length; j++) {
    const pj = (p[j] as number) / sumP;
    if (pj === 0) continue;
    const qj = Math.max((q[j] as number) / sumQ, 1e-10);
    kl += pj * Math.log(pj / qj);
  }
  return kl;
}

/**
 * Scale and zero point for a float range. uint8 is asymmetric (zero point anywhere in 0..255), int8
 * symmetric (zero point 0). The range is widened to contain 0 so zero padding quantizes exactly; an
 * empty range gets scale 1, which is what onnxruntime's quantizer uses too.
 */
export function quantizationParams(
  min: number,
  max: number,
  type: ActivationType,
): { scale: number; zeroPoint: number } {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  if (type === 'int8') {
    const amax = Math.max(-lo, hi);
    return { scale: amax > 0 ? amax / 127 : 1, zeroPoint: 0 };
  }
  if (hi - lo <= 0) return { scale: 1, zeroPoint: 0 };
  const scale = (hi - lo) / 255;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

/** Ranges and quantization parameters for every tensor the collector saw. */
export function calibrate(
  collector: HistogramCollector,
  method: CalibrationMethod,
  percentile: number,
  type: ActivationType,
): CalibrationResult {
  const activations: Record<string, ActivationCalibration> = {};
  for (const [name, histogram] of [...collector.tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const range = calibrateRange(histogram, method, percentile);
    const min = Math.min(range.min, 0);
    const max = Math.max(range.max, 0);
    activations[name] = { min, max, ...quantizationParams(min, max, type), histogram: histogram.condensed() };
  }
  return { method, activations };
}
