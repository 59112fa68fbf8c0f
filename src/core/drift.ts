/**
 * Serving inputs against the statistics an engine was calibrated on (artifact.json `calibration`).
 *
 * - PSI (population stability index) per input, Σ (a − e) · ln(a / e) over bins: the calibration
 *   histogram's fine bins grouped into up to 10 groups of ≈ equal calibration mass (deciles, the
 *   usual PSI binning; 64 fine bins would make sampling noise look like drift), plus one bin below
 *   and one above the calibrated range, where serving data that left the range lands. Proportions
 *   are floored at {@link PSI_EPSILON} so an empty bin costs a large but finite amount.
 *   Conventional reading: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 significant (the default gate).
 * - KS, the two-sample Kolmogorov–Smirnov statistic max |F_cal − F_serve|, on the same fine bins:
 *   the calibration samples themselves are not stored, so it is evaluated at the bin edges (a lower
 *   bound of the exact statistic, exact to one bin width). {@link ksSamples} is the exact form.
 * - Clipping share per INT8 activation: the fraction of serving values outside the calibrated
 *   [min, max], which the engine saturates to the edge of its quantization grid.
 */
import { fmt } from './skew-check.js';
import { toFloat64, type HostTensor } from './tensor.js';
import type { TensorStats } from './tensor-stats.js';

export const PSI_EPSILON = 1e-4;
export const PSI_GROUPS = 10;

export interface DriftThresholds {
  psiMax: number;
  ksMax: number;
  clipMax: number;
}
export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = { psiMax: 0.25, ksMax: 0.2, clipMax: 0.01 };

/** PSI of `actual` against `expected` counts over the same bins (counts, not proportions). */
export function psi(expected: readonly number[], actual: readonly number[], epsilon = PSI_EPSILON): number {
  const [te, ta] = [sum(expected), sum(actual)];
  let total = 0;
  expected.forEach((e, i) => {
    const p = Math.max(e / te, epsilon);
    const q = Math.max(actual[i]! / ta, epsilon);
    total += (q - p) * Math.log(q / p);
  });
  return total;
}

/** max |F_a − F_b| over the bin boundaries of two count vectors on the same bins. */
export function ksFromCounts(a: readonly number[], b: readonly number[]): number {
  const [ta, tb] = [sum(a), sum(b)];
  let [fa, fb, worst] = [0, 0, 0];
  a.forEach((count, i) => {
    fa += count / ta;
    fb += b[i]! / tb;
    worst = Math.max(worst, Math.abs(fa - fb));
  });
  return worst;
}

/** The exact two-sample KS statistic of two samples. */
export function ksSamples(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const [x, y] = [Float64Array.from(a).sort(), Float64Array.from(b).sort()];
  let [i, j, worst] = [0, 0, 0];
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i] === v) i++;
    while (j < y.length && y[j] === v) j++;
    worst = Math.max(worst, Math.abs(i / x.length - j / y.length));
  }
  return worst;
}

export interface InputDrift {
  input: string;
  psi: number;
  ks: number;
  /** Share of serving values outside the calibrated [min, max]. */
  outsideShare: number;
  calibration: { min: number; max: number };
  serving: { min: number; max: number; count: number; nonFinite: number };
}

/** PSI and KS of serving `tensors` of one input against its calibration statistics. */
export function inputDrift(
  input: string,
  calibration: TensorStats,
  tensors: Iterable<HostTensor>,
): InputDrift {
  const { edges, counts } = calibration.histogram;
  const bins = counts.length;
  // Serving counts on the calibration grid: [below, ...bins, above].
  const serving = new Array<number>(bins + 2).fill(0);
  let [min, max, nonFinite] = [Infinity, -Infinity, 0];
  const [lo, hi] = [edges[0]!, edges[bins]!];
  for (const t of tensors) {
    for (const v of toFloat64(t)) {
      if (!Number.isFinite(v)) nonFinite++;
      else {
        [min, max] = [Math.min(min, v), Math.max(max, v)];
        const k =
          v < lo
            ? 0
            : v > hi
              ? bins + 1
              : hi > lo
                ? 1 + Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins))
                : 1;
        serving[k]!++;
      }
    }
  }
  const fine = [0, ...counts, 0];
  // Group fine bins into ≈ equal calibration mass; below and above stay groups of their own.
  const groups: Array<[number, number]> = [[0, 1]];
  const total = sum(counts);
  let [start, acc] = [1, 0];
  for (let i = 1; i <= bins; i++) {
    acc += fine[i]!;
    if (acc >= (total * groups.length) / PSI_GROUPS || i === bins) {
      groups.push([start, i + 1]);
      start = i + 1;
    }
  }
  groups.push([bins + 1, bins + 2]);
  const grouped = (v: number[]) => groups.map(([a, b]) => sum(v.slice(a, b)));
  const count = sum(serving);
  const outside = serving[0]! + serving[bins + 1]!;
  return {
    input,
    psi: count > 0 ? psi(grouped(fine), grouped(serving)) : 0,
    ks: count > 0 ? ksFromCounts(fine, serving) : 0,
    outsideShare: count > 0 ? outside / count : 0,
    calibration: { min: calibration.min, max: calibration.max },
    serving: { min: count > 0 ? min : 0, max: count > 0 ? max : 0, count, nonFinite },
  };
}

export interface ActivationClipping {
  activation: string;
  /** clipped / total: the share the calibrated scale saturates. */
  share: number;
  clipped: number;
  total: number;
  calibrated: { min: number; max: number };
  serving: { min: number; max: number };
}

/** Share of `tensors`' values outside the calibrated range (NaN counts as clipped: it cannot be represented). */
export function clippingShare(
  activation: string,
  calibrated: { min: number; max: number; scale?: number },
  tensors: Iterable<HostTensor>,
): ActivationClipping {
  // Saturating a value less than half a quantization step past the range costs no more than the
  // rounding every value gets: only values beyond that margin lose information. (Calibrated bounds
  // are histogram bin edges, so data piled at the top of its range sits a hair outside them.)
  const margin = (calibrated.scale ?? 0) / 2;
  const [low, high] = [calibrated.min - margin, calibrated.max + margin];
  let [clipped, total, min, max] = [0, 0, Infinity, -Infinity];
  for (const t of tensors) {
    for (const v of toFloat64(t)) {
      total++;
      if (!(v >= low && v <= high)) clipped++;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return {
    activation,
    share: total > 0 ? clipped / total : 0,
    clipped,
    total,
    calibrated: { min: calibrated.min, max: calibrated.max },
    serving: { min, max },
  };
}

export interface DriftVerdict {
  pass: boolean;
  /** The measure furthest past (or closest to) its limit, as a ratio value / limit. */
  worst?: { kind: 'psi' | 'ks' | 'clip'; name: string; value: number; limit: number; ratio: number };
  /** One line naming the worst input or activation. */
  message: string;
}

/** Applies thresholds; the verdict names the worst offender relative to its own limit. */
export function judgeDrift(
  inputs: readonly InputDrift[],
  activations: readonly ActivationClipping[],
  limits: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS,
): DriftVerdict {
  const candidates: NonNullable<DriftVerdict['worst']>[] = [
    ...inputs.flatMap((d) => [
      {
        kind: 'psi' as const,
        name: d.input,
        value: d.psi,
        limit: limits.psiMax,
        ratio: d.psi / limits.psiMax,
      },
      { kind: 'ks' as const, name: d.input, value: d.ks, limit: limits.ksMax, ratio: d.ks / limits.ksMax },
    ]),
    ...activations.map((a) => ({
      kind: 'clip' as const,
      name: a.activation,
      value: a.share,
      limit: limits.clipMax,
      ratio: a.share / limits.clipMax,
    })),
  ];
  const worst = candidates.sort((a, b) => b.ratio - a.ratio)[0];
  if (!worst) return { pass: true, message: 'no inputs or activations to compare' };
  const pass = worst.ratio <= 1;
  const input = inputs.find((d) => d.input === worst.name);
  const act = activations.find((a) => a.activation === worst.name);
  const detail =
    worst.kind === 'clip'
      ? `activation '${worst.name}' clips ${pct(worst.value)} of values ${pass ? '<=' : '>'} ${pct(worst.limit)} (calibrated [${fmt(act!.calibrated.min)}, ${fmt(act!.calibrated.max)}], serving [${fmt(act!.serving.min)}, ${fmt(act!.serving.max)}])`
      : `input '${worst.name}' ${worst.kind.toUpperCase()} ${fmt(worst.value)} ${pass ? '<=' : '>'} ${fmt(worst.limit)} (serving [${fmt(input!.serving.min)}, ${fmt(input!.serving.max)}], calibration [${fmt(input!.calibration.min)}, ${fmt(input!.calibration.max)}], ${pct(input!.outsideShare)} outside)`;
  return { pass, worst, message: `${pass ? 'no drift beyond limits; closest' : 'drift'}: ${detail}` };
}

function pct(share: number): string {
  return `${fmt(share * 100)}%`;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
