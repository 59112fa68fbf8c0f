/**
 * The latency regression detector: is head slower than base, by enough to matter, beyond the noise
 * of a shared runner? Base and head run interleaved (ABAB…), so slow drift hits both alike; the
 * remaining noise (jitter, noisy-neighbour spikes) is handled by a percentile-bootstrap confidence
 * interval of `ratio = head metric / base metric`, resampling each side independently from a
 * SeededRandom, so the same samples and seed always give the same verdict.
 *
 * `maxRegressionPct` (T = maxRegressionPct / 100) is the smallest slowdown the gate must catch, not
 * a bound the whole interval has to clear (that rule misses half of all true T-size regressions).
 * The decision point sits halfway, at 1 + T/2, equally far from "no change" and "a T regression":
 * - `regression`: the interval's lower bound > 1 (a real slowdown at `confidence`) AND
 *   ratio >= 1 + T/2 (large enough to matter);
 * - `improvement`: the upper bound < 1 AND ratio <= 1 / (1 + T/2) (the mirror image in log scale);
 * - `unstable`: the interval is too wide to conclude, i.e. it holds both 1 and 1 + T (or both
 *   1 / (1 + T) and 1), so no change and a T-size change both fit the data; or base or head windows
 *   never agreed (`baseStable` / `headStable` false) and the interval holds 1 + T/2 or 1 / (1 + T/2),
 *   so the verdict hangs on noise the bootstrap cannot see;
 * - `unchanged` otherwise.
 * Regression and improvement are decided first: a clear result stands even on an unsteady runner.
 *
 * Extreme percentiles need tails: a percentile is only compared when each side has at least 10
 * samples beyond it (p99: n >= 1000, p90: n >= 100), else p99 falls back to p90, then p50, and
 * `statistic` and `note` say so (`p99 gated as p90 (412 samples per side within 60 s budget; p99
 * needs 1000)`, the reason from `stoppedBy`). Below 20 samples per side even p50 is not trusted and
 * the verdict is `unstable`. Samples that come in blocks (one tool process each) are judged by
 * compareLatencyBlocks, whose bootstrap resamples whole blocks.
 * At n = 200 per side, the detector raises a false alarm on A/A runs well under 1% of the time and
 * catches a true 10% slowdown at a 10% gate over 95% of the time (test/core/latency-regression.test.ts,
 * bench/regression-rates.ts).
 */
import { blockBootstrapRatio, type LatencyBlocks } from './block-bootstrap.js';
import { SeededRandom } from './seeded-random.js';
import { percentile } from './statistics.js';
import type { LatencyStatistic, LatencyVerdict } from './results.js';

export interface CompareLatencyOptions {
  metric: 'p50' | 'p99';
  /** The smallest slowdown the gate must catch, in percent (see the module comment). */
  maxRegressionPct: number;
  /** Two-sided confidence of the bootstrap interval, e.g. 0.95. */
  confidence: number;
  seed?: number;
  /** Bootstrap resamples; 2000 by default. */
  resamples?: number;
  baseStable?: boolean;
  headStable?: boolean;
  /**
   * Why sampling stopped short of the metric's target, for the fallback note, e.g. `within 6 s
   * budget` (src/core/ab-sampling.ts); absent: the note names no reason.
   */
  stoppedBy?: string;
}

export interface LatencyDecision {
  /** head / base of the percentile compared; > 1 is slower. */
  ratio: number;
  /** Percentile-bootstrap interval of `ratio`, widened to hold `ratio` itself. */
  ci: [number, number];
  verdict: LatencyVerdict;
  /** The percentile `ratio` compares: `metric`, or p90/p50 when too few samples hold its tail. */
  statistic: LatencyStatistic;
  note?: string;
}

/** Samples each side needs beyond a compared percentile, and the fewest samples compared at all. */
export const TAIL_SAMPLES = 10;
const MIN_SAMPLES = 20;
/** Fewest blocks (processes) per side a block comparison trusts: fewer give a degenerate bootstrap. */
export const MIN_BLOCKS = 5;
const DEFAULT_SEED = 0x6b696c6e; // 'kiln'

/** Samples per side `metric` needs to be compared as itself: 10 beyond it (p99: 1000, p50: 20). */
export function samplesToEstimate(metric: LatencyStatistic): number {
  const p = Number(metric.slice(1));
  return Math.max(MIN_SAMPLES, Math.ceil((TAIL_SAMPLES * 100) / (100 - p)));
}

/** Compares base and head latency samples (ms); see the module comment for the decision rule. */
export function compareLatency(
  base: readonly number[],
  head: readonly number[],
  options: CompareLatencyOptions,
): LatencyDecision {
  const resamples = checkOptions(options);
  const a = sortedSamples(base, 'base');
  const b = sortedSamples(head, 'head');
  const { p, notes } = gatedStatistic(options, a.length, b.length);
  const ratio = percentile(b, p) / percentile(a, p);
  const rng = new SeededRandom(options.seed ?? DEFAULT_SEED);
  const ratios = new Float64Array(resamples);
  const countsA = new Int32Array(a.length);
  const countsB = new Int32Array(b.length);
  for (let r = 0; r < resamples; r++) {
    ratios[r] = resampledPercentile(b, p, rng, countsB) / resampledPercentile(a, p, rng, countsA);
  }
  ratios.sort();
  const alpha = ((1 - options.confidence) / 2) * 100;
  // A percentile bootstrap of a discrete statistic can, rarely, exclude the estimate itself.
  const lo = Math.min(ratio, percentile(ratios, alpha));
  const hi = Math.max(ratio, percentile(ratios, 100 - alpha));
  return judge(ratio, [lo, hi], p, notes, a.length, b.length, options);
}

/**
 * compareLatency for samples that come in blocks, one tool process each (trtexec): the percentile
 * is taken over the pooled samples, the interval from a bootstrap that resamples whole blocks
 * (src/core/block-bootstrap.ts), so between-process variance widens it. Fewer than MIN_BLOCKS
 * blocks per side is `unstable`: a handful of processes cannot show their own spread.
 */
export function compareLatencyBlocks(
  base: LatencyBlocks,
  head: LatencyBlocks,
  options: CompareLatencyOptions,
): LatencyDecision {
  const resamples = checkOptions(options);
  for (const [side, blocks] of [
    ['base', base],
    ['head', head],
  ] as const) {
    if (blocks.length === 0) throw new RangeError(`${side} has no latency blocks`);
    for (const block of blocks) sortedSamples(block, side);
  }
  const na = base.reduce((n, b) => n + b.length, 0);
  const nb = head.reduce((n, b) => n + b.length, 0);
  const { p, notes } = gatedStatistic(options, na, nb);
  const rng = new SeededRandom(options.seed ?? DEFAULT_SEED);
  const { ratio, ci } = blockBootstrapRatio(base, head, p, options.confidence, resamples, rng);
  if (Math.min(base.length, head.length) < MIN_BLOCKS) {
    notes.push(`fewer than ${MIN_BLOCKS} blocks per side (${base.length}/${head.length})`);
    return { ratio, ci, verdict: 'unstable', statistic: `p${p}` as LatencyStatistic, note: notes.join('; ') };
  }
  return judge(ratio, ci, p, notes, na, nb, options);
}

function checkOptions(options: CompareLatencyOptions): number {
  const { maxRegressionPct, confidence } = options;
  const resamples = options.resamples ?? 2000;
  if (!(
    maxRegressionPct > 0 &&
    confidence > 0 &&
    confidence < 1 &&
    Number.isInteger(resamples) &&
    resamples > 0
  )) {
    throw new RangeError(`bad options: ${JSON.stringify({ maxRegressionPct, confidence, resamples })}`);
  }
  return resamples;
}

/**
 * The percentile compared: `metric` when each side holds TAIL_SAMPLES beyond it, else p90, else
 * p50, never silently: the note says which was gated, with how many samples, and why.
 */
function gatedStatistic(
  options: CompareLatencyOptions,
  na: number,
  nb: number,
): { p: number; notes: string[] } {
  const n = Math.min(na, nb);
  const wanted = options.metric === 'p99' ? 99 : 50;
  const p = [wanted, 90, 50].find((q) => q <= wanted && n * (100 - q) >= TAIL_SAMPLES * 100) ?? 50;
  const notes: string[] = [];
  if (p !== wanted) {
    const per = na === nb ? `${na} samples per side` : `${na}/${nb} samples per side`;
    const why = options.stoppedBy ? ` ${options.stoppedBy}` : '';
    notes.push(
      `${options.metric} gated as p${p} (${per}${why}; ${options.metric} needs ${samplesToEstimate(options.metric)})`,
    );
  }
  return { p, notes };
}

function judge(
  ratio: number,
  ci: [number, number],
  p: number,
  notes: string[],
  na: number,
  nb: number,
  options: CompareLatencyOptions,
): LatencyDecision {
  const statistic = `p${p}` as LatencyStatistic;
  if (Math.min(na, nb) < MIN_SAMPLES) {
    notes.push(`fewer than ${MIN_SAMPLES} samples per side (${na}/${nb})`);
    return { ratio, ci, verdict: 'unstable', statistic, note: notes.join('; ') };
  }
  const unsettled = options.baseStable === false || options.headStable === false;
  const decision = decideLatency(ratio, ci, options.maxRegressionPct, unsettled);
  if (decision.note) notes.push(decision.note);
  return {
    ratio,
    ci,
    verdict: decision.verdict,
    statistic,
    ...(notes.length > 0 && { note: notes.join('; ') }),
  };
}

/**
 * The decision rule of the module comment, from the ratio and its interval alone: the report uses it
 * to judge a recorded comparison against the merge base's `maxRegressionPct` rather than the one the
 * pull request ran with. `unsettled`: base or head windows never agreed.
 */
export function decideLatency(
  ratio: number,
  [lo, hi]: readonly [number, number],
  maxRegressionPct: number,
  unsettled: boolean,
): { verdict: Exclude<LatencyVerdict, 'new'>; note?: string } {
  const t = maxRegressionPct / 100;
  const slower = 1 + t / 2;
  const faster = 1 / slower;
  if (lo > 1 && ratio >= slower) return { verdict: 'regression' };
  if (hi < 1 && ratio <= faster) return { verdict: 'improvement' };
  if ((lo <= 1 && hi >= 1 + t) || (lo <= 1 / (1 + t) && hi >= 1)) {
    return {
      verdict: 'unstable',
      note: `interval too wide to tell no change from a ${maxRegressionPct}% change`,
    };
  }
  if (unsettled && ((lo <= slower && hi >= slower) || (lo <= faster && hi >= faster))) {
    return { verdict: 'unstable', note: 'latency never settled and the interval straddles the gate' };
  }
  return { verdict: 'unchanged' };
}

function sortedSamples(samples: readonly number[], side: string): Float64Array {
  if (samples.length === 0 || !samples.every((x) => Number.isFinite(x) && x > 0)) {
    throw new RangeError(`${side} latency samples must be a non-empty list of finite positive numbers`);
  }
  return Float64Array.from(samples).sort();
}

/**
 * `percentile(sort(resample), p)` for a resample with replacement of `sorted`, in O(n) without
 * sorting: draw how often each rank is picked, then walk the counts to the order statistics needed.
 */
function resampledPercentile(sorted: Float64Array, p: number, rng: SeededRandom, counts: Int32Array): number {
  const n = sorted.length;
  counts.fill(0);
  // n * u < 2^53, so the product is exact; the bias of n / 2^32 per rank is negligible.
  for (let i = 0; i < n; i++) counts[Math.floor((rng.nextUint32() * n) / 4294967296)]++;
  const rank = (p / 100) * (n - 1);
  const k = Math.floor(rank);
  const frac = rank - k;
  // Order statistics k and k + 1 of the resample; walk in from the nearer end.
  let j: number;
  let sameNext: boolean;
  if (k < n / 2) {
    j = 0;
    let upTo = counts[0] as number; // resample elements at ranks <= j
    while (upTo <= k) upTo += counts[++j] as number;
    sameNext = upTo > k + 1;
  } else {
    const fromTop = n - 1 - k;
    j = n - 1;
    let above = 0; // resample elements at ranks > j
    while (above + (counts[j] as number) <= fromTop) above += counts[j--] as number;
    sameNext = above <= fromTop - 1;
  }
  const x = sorted[j] as number;
  if (frac === 0 || sameNext) return x;
  while (counts[++j] === 0);
  const y = sorted[j] as number;
  return Math.min(y, Math.max(x, x + (y - x) * frac));
}

/** `n`: samples per side per trial; `shiftPct`: true slowdown of head in percent (0 for A/A). */
export interface DetectorRateOptions extends Pick<
  CompareLatencyOptions,
  'metric' | 'maxRegressionPct' | 'confidence'
> {
  trials: number;
  n: number;
  shiftPct: number;
  noise: 'lognormal' | 'spiky';
  seed: number;
}

/**
 * Simulates `trials` interleaved A/B runs of `n` samples per side on a noisy runner and returns the
 * fraction that `compareLatency` calls a regression. Noise model, per sample: 10 ms × log-normal
 * jitter (sigma drawn per trial in [0.05, 0.1]) × a per-trial slow drift (a ramp of up to ±5% plus a
 * wobble of up to ±3%) shared by A and B at the same position, since they alternate; `spiky` adds a
 * noisy neighbour that slows 2% of samples by ×1.5–3. Head is then multiplied by 1 + shiftPct/100.
 */
export function detectorRates(options: DetectorRateOptions): { alarmRate: number } {
  const { trials, n, shiftPct, noise, seed, ...gate } = options;
  const rng = new SeededRandom(seed);
  const u = () => rng.nextFloat();
  const sample = (drift: number, sigma: number) =>
    10 * drift * Math.exp(sigma * rng.normal()) * (noise === 'spiky' && u() < 0.02 ? 1.5 + 1.5 * u() : 1);
  let alarms = 0;
  for (let trial = 0; trial < trials; trial++) {
    const sigma = 0.05 + 0.05 * u();
    const [ramp, wobble, periods, phase] = [0.1 * (2 * u() - 1), 0.03 * u(), 1 + 2 * u(), 2 * Math.PI * u()];
    const base = new Array<number>(n);
    const head = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const x = i / Math.max(1, n - 1);
      const drift = Math.exp(ramp * (x - 0.5) + wobble * Math.sin(2 * Math.PI * periods * x + phase));
      base[i] = sample(drift, sigma);
      head[i] = sample(drift, sigma) * (1 + shiftPct / 100);
    }
    if (compareLatency(base, head, { ...gate, seed: rng.nextUint32() }).verdict === 'regression') alarms++;
  }
  return { alarmRate: trials > 0 ? alarms / trials : 0 };
}
