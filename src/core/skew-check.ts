/**
 * Training/serving skew: observed input statistics against the preprocessing manifest. A model fed
 * 0–255 pixels where it was trained on normalized ones still returns tensors of the right shape, so
 * nothing else fails; this names the input, the range seen, the range expected and the step that
 * most likely went missing, in one line.
 */
import { normalizeStep, type ManifestInput, type RawManifest } from './manifest-schema.js';
import type { TensorStats } from './tensor-stats.js';

export type SkewKind =
  | 'no-data'
  | 'non-finite'
  | 'scale-missing'
  | 'scale-extra'
  | 'normalize-missing'
  | 'out-of-range'
  | 'color-order'
  | 'stats-mismatch';

export interface SkewFinding {
  input: string;
  kind: SkewKind;
  seen: { min: number; max: number; mean: number };
  expected: { min: number; max: number };
  /** The preprocessing step that most likely is missing or wrong, when the pattern says so. */
  likelyStep?: string;
  /** The one line a user sees. */
  message: string;
}

export interface SkewReport {
  verdict: 'clean' | 'skew';
  findings: SkewFinding[];
}

/** Share of the expected range that observed values may overshoot (resampling rings a little). */
export const RANGE_MARGIN = 0.05;
/** A channel mean this many expected stds from the manifest's is a mismatch. */
export const MEAN_TOLERANCE_STD = 1;
/** Observed std outside [expected / 3, expected × 3] is a mismatch. */
export const STD_RATIO_LIMIT = 3;

/** Compares observed per-input statistics with the manifest; inputs without observations are skipped. */
export function checkSkew(
  manifest: Pick<RawManifest, 'inputs'>,
  observed: Record<string, TensorStats>,
): SkewReport {
  const findings = Object.entries(manifest.inputs).flatMap(([name, input]) =>
    observed[name] ? inputFindings(name, input, observed[name]) : [],
  );
  return { verdict: findings.length > 0 ? 'skew' : 'clean', findings };
}

/** 3 significant digits, no exponent noise for everyday ranges. */
export function fmt(v: number): string {
  return String(Number(v.toPrecision(3)));
}

function inputFindings(name: string, input: ManifestInput, s: TensorStats): SkewFinding[] {
  const { min: a, max: b } = input.range;
  const width = b - a;
  const margin = RANGE_MARGIN * width;
  const seenText = `values in [${fmt(s.min)}, ${fmt(s.max)}] (mean ${fmt(s.mean)})`;
  const base = { input: name, seen: { min: s.min, max: s.max, mean: s.mean }, expected: { min: a, max: b } };
  const finding = (kind: SkewKind, what: string, likelyStep?: string): SkewFinding[] => [
    {
      ...base,
      kind,
      ...(likelyStep ? { likelyStep } : {}),
      message: `input '${name}': ${what}${likelyStep ? `; likely missing step: ${likelyStep}` : ''}`,
    },
  ];
  const expectedText = `expected [${fmt(a)}, ${fmt(b)}]`;
  // NaN/Inf poison every statistic below, so they are the whole story when present.
  if (s.nonFinite)
    return finding(
      'non-finite',
      `${s.nonFinite} NaN/Inf values (of ${s.nonFinite + s.count}), expected finite values in [${fmt(a)}, ${fmt(b)}]`,
    );
  if (s.count === 0) return finding('no-data', `no values seen, ${expectedText}`);
  const norm = normalizeStep(input);
  const fits = s.min >= a - margin && s.max <= b + margin;
  const unitLike = s.min >= -0.01 && s.max <= 1.01 && s.max > 0.05;
  // A batch of 0–255 images nearly always reaches past 20; [0, 3] is just out of range, not pixels.
  const byteLike = s.min >= -0.5 && s.max > 20 && s.max <= 255.5;
  const normText = norm
    ? `normalize (mean [${norm.mean.map(fmt)}], std [${norm.std.map(fmt)}])`
    : `a shift into [${fmt(a)}, ${fmt(b)}]`;
  if (unitLike && b >= 20) {
    return finding(
      'scale-extra',
      `${seenText}, ${expectedText} (0–255 data)`,
      'none: a scale 1/255 was applied that the model does not expect',
    );
  }
  if (s.max > 0 && s.max <= 0.0042 && s.min >= -0.0042 && width >= 0.5) {
    return finding('scale-extra', `${seenText}, ${expectedText}`, 'none: scale 1/255 applied twice');
  }
  // 0–1 data where the model expects values well below zero: the mean/std step never ran.
  if (unitLike && a < -0.1 * width)
    return finding('normalize-missing', `${seenText}, ${expectedText}`, normText);
  if (!fits && byteLike && s.max > 2 * b && width <= 10) {
    const also = norm || a < 0 ? ` then ${normText}` : '';
    return finding('scale-missing', `${seenText} (0–255 data), ${expectedText}`, `scale 1/255${also}`);
  }
  if (!fits) return finding('out-of-range', `${seenText}, ${expectedText} (±${fmt(margin)})`);
  return input.stats ? statsFindings(input, s, seenText, finding) : [];
}

/**
 * Per-channel means against the manifest's stats. With a normalize step the comparison happens
 * before it (raw = mean + std × value): normalization makes every channel's mean ≈ 0, which hides
 * a red/blue swap, while the raw channel means differ and show it.
 */
function statsFindings(
  input: ManifestInput,
  s: TensorStats,
  seenText: string,
  finding: (kind: SkewKind, what: string, likelyStep?: string) => SkewFinding[],
): SkewFinding[] {
  const stats = input.stats!;
  const channels = stats.mean.length;
  const observed = s.perChannel?.mean.length === channels ? s.perChannel : { mean: [s.mean], std: [s.std] };
  const n = observed.mean.length;
  const norm = normalizeStep(input);
  const raw = (v: number, c: number) => (norm?.mean[c] ?? 0) + (norm?.std[c] ?? 1) * v;
  const spread = (c: number) => Math.max(1e-6, Math.abs((norm?.std[c] ?? 1) * stats.std[c]!));
  const E = stats.mean.slice(0, n).map(raw);
  const O = observed.mean.map(raw);
  const dev = (o: number[]) => E.map((e, c) => Math.abs(o[c]! - e) / spread(c));
  if (n === 3 && (input.layout === 'NCHW' || input.layout === 'NHWC')) {
    // Centred across channels: a batch of darker photos shifts every channel alike, a swap does not.
    const centred = (o: number[]) => {
      const d = E.map((e, c) => (o[c]! - e) / spread(c));
      const m = (d[0]! + d[1]! + d[2]!) / 3;
      return d.map((v) => Math.abs(v - m));
    };
    const same = centred(O);
    const swapped = centred([O[2]!, O[1]!, O[0]!]);
    const sum = (d: number[]) => d.reduce((x, y) => x + y, 0);
    if (Math.max(...same) > 0.25 && sum(swapped) < 0.5 * sum(same)) {
      const order = input.colorOrder ?? 'RGB';
      return finding(
        'color-order',
        `channel means [${observed.mean.map(fmt)}] match the manifest's [${stats.mean.map(fmt)}] only with channels 0 and 2 swapped (${order === 'RGB' ? 'BGR' : 'RGB'} data)`,
        `colorOrder ${order} (swap channels 0 and 2)`,
      );
    }
  }
  const d = dev(O);
  const worst = d.indexOf(Math.max(...d));
  if (d[worst]! > MEAN_TOLERANCE_STD) {
    return finding(
      'stats-mismatch',
      `${seenText}; channel ${worst} mean ${fmt(observed.mean[worst]!)}, expected ${fmt(stats.mean[worst]!)} ± ${fmt(stats.std[worst]!)} (${fmt(d[worst]!)} std off)`,
    );
  }
  const ratios = observed.std.map((v, c) => v / Math.max(1e-12, stats.std[c]!));
  const far = ratios.findIndex((r) => r > STD_RATIO_LIMIT || r < 1 / STD_RATIO_LIMIT);
  if (far >= 0) {
    return finding(
      'stats-mismatch',
      `${seenText}; channel ${far} std ${fmt(observed.std[far]!)}, expected ${fmt(stats.std[far]!)} (${fmt(ratios[far]!)}×)`,
    );
  }
  return [];
}
