/**
 * Calibration data that cannot be right, refused before INT8 ranges are derived from it. A loader
 * bug (blank tensors, 0–255 where the model wants 0–1, placeholder noise) still yields "calibrated"
 * scales, and the engine then fails quietly in production; each check here names it in one line.
 *
 * Loading the samples is in `calibration-samples.ts`.
 */
import { InputError } from './errors.js';
import type { ModelInputSpec } from './io/manifest-load.js';
import type { Layout, RawManifest } from './manifest-schema.js';
import { checkSkew, fmt } from './skew-check.js';
import { formatShape, toFloat64, type HostTensor } from './tensor.js';
import { StatsAccumulator, type TensorStats } from './tensor-stats.js';

/**
 * Fewer samples are refused: 8 is where a percentile or KL range stops being one image's range.
 * It is a floor, not advice: TensorRT and ORT guides use hundreds.
 */
export const MIN_CALIBRATION_SAMPLES = 8;
/** Neighbouring pixels of real images correlate (r ≳ 0.7); i.i.d. noise gives r ≈ 0. */
export const NOISE_AUTOCORRELATION_MAX = 0.3;

export type CalibrationProblemKind =
  'empty' | 'too-few' | 'missing-input' | 'dtype' | 'shape' | 'constant' | 'noise' | 'range';

export interface CalibrationDataReport {
  ok: boolean;
  /** Samples counted along the batch dim. */
  sampleCount: number;
  problems: Array<{ kind: CalibrationProblemKind; input?: string; message: string }>;
  /** Per-input statistics: what artifact.json's `calibration.inputs` records. */
  stats: Record<string, TensorStats>;
}

/**
 * Every reason the calibration `samples` cannot be right (module comment), with per-input stats.
 * `manifest` adds the range check; without one the layout is guessed for the noise check.
 */
export function checkCalibrationData(
  samples: ReadonlyArray<Record<string, HostTensor>>,
  manifest: Pick<RawManifest, 'inputs'> | undefined,
  inputs: readonly ModelInputSpec[],
): CalibrationDataReport {
  const problems: CalibrationDataReport['problems'] = [];
  const stats: Record<string, TensorStats> = {};
  const first = inputs[0] && samples[0]?.[inputs[0].name];
  const sampleCount = samples.reduce(
    (n, s) => n + (first && first.shape.length >= 2 ? (s[inputs[0]!.name]?.shape[0] ?? 0) : 1),
    0,
  );
  if (samples.length === 0) problems.push({ kind: 'empty', message: 'no calibration samples' });
  else if (sampleCount < MIN_CALIBRATION_SAMPLES) {
    problems.push({
      kind: 'too-few',
      message: `${sampleCount} calibration samples, expected at least ${MIN_CALIBRATION_SAMPLES} (hundreds recommended)`,
    });
  }
  for (const spec of inputs) {
    const problem = (kind: CalibrationProblemKind, text: string) =>
      problems.push({ kind, input: spec.name, message: `input '${spec.name}': ${text}` });
    const tensors = samples.map((s) => s[spec.name]);
    const shapeProblem = tensors.findIndex(
      (t) =>
        t &&
        (t.shape.length !== spec.dims.length ||
          t.shape.some((d, i) => typeof spec.dims[i] === 'number' && spec.dims[i] !== d)),
    );
    if (tensors.some((t) => !t))
      problem('missing-input', `missing from sample ${tensors.findIndex((t) => !t)}`);
    else if (tensors.some((t) => t!.dtype !== spec.dtype))
      problem(
        'dtype',
        `dtype ${tensors.find((t) => t!.dtype !== spec.dtype)!.dtype}, expected ${spec.dtype}`,
      );
    else if (shapeProblem >= 0)
      problem(
        'shape',
        `sample ${shapeProblem} has shape ${formatShape(tensors[shapeProblem]!.shape)}, the model expects [${spec.dims.map((d) => (typeof d === 'number' ? d : '?'))}]`,
      );
    if (problems.some((p) => p.input === spec.name) || tensors.length === 0) continue;
    const layout = manifest?.inputs[spec.name]?.layout ?? guessLayout(spec);
    const acc = new StatsAccumulator(layout);
    for (const t of tensors) acc.add(t!);
    const s = (stats[spec.name] = acc.result());
    const constantSamples = tensors.filter((t) => isConstant(toFloat64(t!))).length;
    if (s.count > 0 && s.std <= 1e-6 * Math.max(1, Math.abs(s.mean))) {
      problem(
        'constant',
        `every value is ${fmt(s.mean)} across ${tensors.length} samples (constant): a loader returning blank tensors?`,
      );
    } else if (constantSamples * 2 > tensors.length) {
      problem(
        'constant',
        `${constantSamples} of ${tensors.length} samples are constant tensors: a loader returning blank tensors?`,
      );
    } else if (spec.dtype.startsWith('float') && s.count > 0) {
      const noise = noiseEvidence(tensors as HostTensor[], layout, s);
      if (noise) problem('noise', noise);
    }
    if (manifest?.inputs[spec.name]) {
      for (const f of checkSkew({ inputs: { [spec.name]: manifest.inputs[spec.name] } }, { [spec.name]: s })
        .findings) {
        problems.push({ kind: 'range', input: spec.name, message: `${f.message} (manifest)` });
      }
    }
  }
  return { ok: problems.length === 0, sampleCount, problems, stats };
}

/** Throws the report's first problem as one InputError line prefixed with `where` (the data folder). */
export function assertCalibrationData(report: CalibrationDataReport, where: string): void {
  const [first, ...rest] = report.problems;
  if (!first) return;
  const more = rest.length > 0 ? ` (+${rest.length} more: ${rest.map((p) => p.kind).join(', ')})` : '';
  throw new InputError(`${where}: calibration data refused: ${first.message}${more}`, {
    cause: new Error(report.problems.map((p) => p.message).join('\n')),
  });
}

function guessLayout(spec: ModelInputSpec): Layout | undefined {
  if (spec.dims.length !== 4) return undefined;
  const small = (d: unknown) => d === 1 || d === 3 || d === 4;
  return small(spec.dims[1]) ? 'NCHW' : small(spec.dims[3]) ? 'NHWC' : undefined;
}

function isConstant(values: Float64Array): boolean {
  return values.every((v) => v === values[0]);
}

/**
 * Why the data looks like random noise, or undefined. Images: the mean lag-1 autocorrelation of
 * neighbouring pixels (across and down, per channel plane) is below {@link NOISE_AUTOCORRELATION_MAX};
 * photos, scans and rendered text sit far above it. Other float layouts: a histogram that is flat
 * (every one of 16 bins within ±20% of the average) across the whole [min, max], the signature of
 * uniform random fill; real features pile up somewhere.
 */
function noiseEvidence(
  tensors: HostTensor[],
  layout: Layout | undefined,
  s: TensorStats,
): string | undefined {
  if (layout === 'NCHW' || layout === 'NHWC') {
    const r = imageAutocorrelation(tensors.slice(0, 32), layout);
    if (r === undefined || r >= NOISE_AUTOCORRELATION_MAX) return undefined;
    return `neighbouring pixels are uncorrelated (lag-1 autocorrelation ${fmt(r)}, images show > ${NOISE_AUTOCORRELATION_MAX}): random noise, not images`;
  }
  const counts = new Array<number>(16).fill(0);
  for (const t of tensors) {
    for (const v of toFloat64(t))
      if (Number.isFinite(v)) counts[Math.min(15, Math.floor(((v - s.min) / (s.max - s.min)) * 16))]!++;
  }
  const expected = s.count / 16;
  if (expected < 64 || counts.some((c) => Math.abs(c - expected) > 0.2 * expected)) return undefined;
  return `values are spread uniformly over [${fmt(s.min)}, ${fmt(s.max)}] (flat histogram): random noise, not data`;
}

/** Mean lag-1 autocorrelation over channel planes with variance, right- and down-neighbours pooled. */
export function imageAutocorrelation(
  tensors: readonly HostTensor[],
  layout: 'NCHW' | 'NHWC',
): number | undefined {
  let total = 0;
  let planes = 0;
  for (const t of tensors) {
    if (t.shape.length !== 4) continue;
    const values = toFloat64(t);
    const [n, c, h, w] = layout === 'NCHW' ? t.shape : [t.shape[0]!, t.shape[3]!, t.shape[1]!, t.shape[2]!];
    const [sC, sH, sW] = layout === 'NCHW' ? [h! * w!, w!, 1] : [1, w! * c!, c!];
    for (let b = 0; b < n!; b++) {
      for (let ch = 0; ch < c!; ch++) {
        const base = b * c! * h! * w! + ch * sC;
        let mean = 0;
        for (let y = 0; y < h!; y++) for (let x = 0; x < w!; x++) mean += values[base + y * sH + x * sW]!;
        mean /= h! * w!;
        let [cov, pairs, variance] = [0, 0, 0];
        for (let y = 0; y < h!; y++) {
          for (let x = 0; x < w!; x++) {
            const v = values[base + y * sH + x * sW]! - mean;
            variance += v * v;
            if (x + 1 < w!) {
              cov += v * (values[base + y * sH + (x + 1) * sW]! - mean);
              pairs++;
            }
            if (y + 1 < h!) {
              cov += v * (values[base + (y + 1) * sH + x * sW]! - mean);
              pairs++;
            }
          }
        }
        if (variance <= 0 || pairs === 0) continue;
        total += cov / pairs / (variance / (h! * w!));
        planes++;
      }
    }
  }
  return planes > 0 ? total / planes : undefined;
}
