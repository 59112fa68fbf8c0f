/**
 * Streaming statistics of many tensors: count, range, mean/std (overall and per channel) and a
 * histogram. Skew, calibration checks and drift all compare distributions that never fit in memory
 * at once (a calibration set is hundreds of images), so everything merges tensor by tensor.
 */
import { InputError } from './errors.js';
import type { Layout } from './manifest-schema.js';
import { formatShape, toFloat64, type HostTensor } from './tensor.js';

/** Distribution summary of one input (or activation) over many tensors; stored in artifact.json. */
export interface TensorStats {
  /** Finite values seen. */
  count: number;
  min: number;
  max: number;
  mean: number;
  /** Population standard deviation. */
  std: number;
  /** NaN and ±Inf values seen (excluded from everything else); absent means 0. */
  nonFinite?: number;
  /** Per channel of the layout's channel dim, when the layout has one. */
  perChannel?: { mean: number[]; std: number[] };
  /** `counts[i]` values fell in [edges[i], edges[i + 1]); the last bin includes its right edge. */
  histogram: { edges: number[]; counts: number[] };
}

/** Histogram bins; even, because the range grows by doubling and merging bin pairs. */
export const HISTOGRAM_BINS = 64;

/** The channel dim of `layout` for a tensor of `rank`, or undefined when there is none. */
export function channelAxis(layout: Layout | undefined, rank: number): number | undefined {
  if (layout === 'NCHW' || layout === 'NC') return rank >= 2 ? 1 : undefined;
  if (layout === 'NHWC') return rank >= 2 ? rank - 1 : undefined;
  return undefined;
}

/** Accumulates {@link TensorStats} over tensors of one input; merges are exact (Chan et al.). */
export class StatsAccumulator {
  private n: number[] = [];
  private mean: number[] = [];
  private m2: number[] = [];
  private min = Infinity;
  private max = -Infinity;
  private nonFinite = 0;
  private channelled = false;
  private lo = 0;
  private width = 0;
  private readonly counts: Float64Array;

  constructor(
    private readonly layout?: Layout,
    private readonly bins = HISTOGRAM_BINS,
  ) {
    this.counts = new Float64Array(bins);
  }

  /** Adds every element of `t`; `source` (a file) names it if its channel count differs. */
  add(t: HostTensor, source = 'tensor'): void {
    const values = toFloat64(t);
    const axis = channelAxis(this.layout, t.shape.length);
    const channels = axis === undefined ? 1 : t.shape[axis]!;
    this.channelled = axis !== undefined;
    const inner = axis === undefined ? values.length : t.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    if (this.n.length === 0) [this.n, this.mean, this.m2] = [0, 0, 0].map(() => Array(channels).fill(0));
    if (this.n.length !== channels) {
      throw new InputError(
        `${source}: ${formatShape(t.shape)} has ${channels} channels, earlier tensors had ${this.n.length}`,
      );
    }
    // Two passes per tensor (sums, then squared deviations), then Chan's merge: stable for 0-255 data.
    const sum = new Float64Array(channels);
    const cnt = new Float64Array(channels);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) {
        this.nonFinite++;
        continue;
      }
      const c = Math.floor(i / inner) % channels;
      sum[c] += v;
      cnt[c]++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (hi < lo) return;
    const m2 = new Float64Array(channels);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      const c = Math.floor(i / inner) % channels;
      if (Number.isFinite(v)) m2[c] += (v - sum[c]! / cnt[c]!) ** 2;
    }
    for (let c = 0; c < channels; c++) {
      if (cnt[c] === 0) continue;
      const [na, nb] = [this.n[c]!, cnt[c]!];
      const delta = sum[c]! / nb - this.mean[c]!;
      this.n[c] = na + nb;
      this.mean[c] = this.mean[c]! + (delta * nb) / (na + nb);
      this.m2[c] = this.m2[c]! + m2[c]! + (delta * delta * na * nb) / (na + nb);
    }
    this.min = Math.min(this.min, lo);
    this.max = Math.max(this.max, hi);
    this.cover(lo, hi);
    for (const v of values) if (Number.isFinite(v)) this.counts[this.bin(v)]++;
  }

  /** The statistics so far; an accumulator that saw no finite value reports count 0 and zeros. */
  result(): TensorStats {
    const count = this.n.reduce((a, b) => a + b, 0);
    const nonFinite = this.nonFinite > 0 ? { nonFinite: this.nonFinite } : {};
    if (count === 0)
      return { count, min: 0, max: 0, mean: 0, std: 0, ...nonFinite, histogram: { edges: [], counts: [] } };
    let mean = 0;
    this.n.forEach((n, c) => (mean += (n * this.mean[c]!) / count));
    let m2 = 0;
    this.n.forEach((n, c) => (m2 += this.m2[c]! + n * (this.mean[c]! - mean) ** 2));
    const perChannel = !this.channelled
      ? {}
      : {
          perChannel: {
            mean: [...this.mean],
            std: this.m2.map((m, c) => (this.n[c]! > 0 ? Math.sqrt(m / this.n[c]!) : 0)),
          },
        };
    const edges = Array.from({ length: this.bins + 1 }, (_, i) => this.lo + (this.width * i) / this.bins);
    // lo + width can round just inside the extremes; the outer edges must contain every value.
    edges[0] = Math.min(edges[0]!, this.min);
    edges[this.bins] = Math.max(edges[this.bins]!, this.max);
    return {
      count,
      min: this.min,
      max: this.max,
      mean,
      std: Math.sqrt(m2 / count),
      ...nonFinite,
      ...perChannel,
      histogram: { edges, counts: [...this.counts] },
    };
  }

  /** Grows the histogram range by doubling (merging bin pairs) until it covers [lo, hi]: exact counts. */
  private cover(lo: number, hi: number): void {
    if (this.width === 0) {
      this.lo = lo;
      // A constant first tensor still needs a non-empty range to double from.
      this.width = hi > lo ? hi - lo : Math.max(Math.abs(lo) * 1e-3, 1e-6);
    }
    const half = this.bins / 2;
    while (lo < this.lo || hi > this.lo + this.width) {
      const growLeft = lo < this.lo;
      const merged = new Float64Array(this.bins);
      for (let j = 0; j < half; j++)
        merged[(growLeft ? half : 0) + j] = this.counts[2 * j]! + this.counts[2 * j + 1]!;
      this.counts.set(merged);
      if (growLeft) this.lo -= this.width;
      this.width *= 2;
    }
  }

  private bin(v: number): number {
    return Math.min(this.bins - 1, Math.max(0, Math.floor(((v - this.lo) / this.width) * this.bins)));
  }
}

/** Statistics of `tensors` in one call. */
export function tensorStats(tensors: Iterable<HostTensor>, layout?: Layout): TensorStats {
  const acc = new StatsAccumulator(layout);
  for (const t of tensors) acc.add(t);
  return acc.result();
}
