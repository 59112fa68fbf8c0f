/**
 * Latency statistics. Percentiles match numpy's default ("linear") method so numbers in kiln's
 * report agree with anyone re-analysing the raw samples in Python.
 *
 * Invalid arguments (empty samples, p outside [0, 100]) are caller bugs rather than user input, so
 * they throw RangeError, not InputError.
 */
import type { LatencyStats } from './results.js';

/** The sample statistics part of `LatencyStats`. */
export type LatencySummary = Pick<
  LatencyStats,
  'n' | 'p50' | 'p90' | 'p99' | 'mean' | 'stddev' | 'min' | 'max'
>;

/**
 * The `p`-th percentile (0..100) of ascending `sorted`, interpolating linearly between the closest
 * ranks like `numpy.percentile(a, p)`. `sorted` must already be sorted; it is not re-checked because
 * callers take many percentiles of one sorted copy.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of an empty sample');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile p must be within [0, 100], got ${p}`);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  const t = rank - lo;
  // Exact ranks return the element itself (keeps -0, avoids Inf - Inf = NaN).
  if (t === 0 || a === b) return a;
  // Clamp because a + (b - a) * t can round past b, which would break monotonicity in p.
  return Math.min(b, Math.max(a, a + (b - a) * t));
}

/** Arithmetic mean; RangeError for an empty sample. */
export function mean(samples: ArrayLike<number>): number {
  if (samples.length === 0) throw new RangeError('mean of an empty sample');
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] as number;
  return sum / samples.length;
}

/** Sample standard deviation (n - 1 denominator); 0 for fewer than two samples. */
export function stddev(samples: ArrayLike<number>): number {
  if (samples.length < 2) return 0;
  const m = mean(samples);
  let squares = 0;
  for (let i = 0; i < samples.length; i++) squares += ((samples[i] as number) - m) ** 2;
  return Math.sqrt(squares / (samples.length - 1));
}

/** n, p50/p90/p99, mean, sample stddev, min and max of latency samples in milliseconds. */
export function summarize(samplesMs: readonly number[]): LatencySummary {
  if (samplesMs.length === 0) throw new RangeError('summarize of an empty sample');
  const sorted = Float64Array.from(samplesMs).sort();
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    mean: mean(sorted),
    stddev: stddev(sorted),
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
  };
}

function median(values: ArrayLike<number>): number {
  return percentile(Float64Array.from(values).sort(), 50);
}

/**
 * The stability criterion (as perf_analyzer's --stability-percentage): true when the medians of the
 * last three windows of `windowSize` samples differ by at most `pct` percent of the smallest.
 * False while fewer than three full windows exist, so callers keep measuring.
 */
export function windowsAgree(samples: readonly number[], windowSize: number, pct: number): boolean {
  if (!Number.isInteger(windowSize) || windowSize < 1) {
    throw new RangeError(`windowSize must be a positive integer, got ${windowSize}`);
  }
  if (!(pct >= 0)) throw new RangeError(`pct must be non-negative, got ${pct}`);
  if (samples.length < 3 * windowSize) return false;
  const medians = [3, 2, 1].map((k) => {
    const start = samples.length - k * windowSize;
    return median(samples.slice(start, start + windowSize));
  });
  const lo = Math.min(...medians);
  const hi = Math.max(...medians);
  // Relative to the smallest median, so the test is symmetric in window order.
  return hi - lo <= (pct / 100) * lo;
}
