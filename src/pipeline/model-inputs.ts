import type { ModelConfig } from '../core/config-schema.js';
import { assertCalibrationData, checkCalibrationData } from '../core/calibration-data-check.js';
import { loadCalibrationSamples } from '../core/io/calibration-samples.js';
import { checkManifestAgainstModel, loadManifest, type Manifest } from '../core/io/manifest-load.js';
import { tensorStats, type TensorStats } from '../core/tensor-stats.js';
import { checkSkew } from '../core/skew-check.js';
import { InputError } from '../core/errors.js';
import { DEFAULT_LIMITS, LIMIT_ENV, type Limits } from '../core/limits.js';
import type { HostTensor } from '../core/tensor.js';
import type { EngineProfile } from '../backends/backend.js';
import type { ModelDescription } from '../backends/model/onnx-model.js';
import { benchShapes } from '../backends/model/profile-dims.js';
import type { GoldenInputs, ValueRange } from './golden-inputs.js';

/** Calibration for one int8 engine: checked samples, how to calibrate, and what they looked like. */
export interface JobCalibration {
  samples: Array<Record<string, HostTensor>>;
  method: 'minmax' | 'percentile' | 'entropy';
  percentile: number;
  dataSha256: string;
  /** Per-input statistics stored in artifact.json, the baseline `kiln drift` compares serving data to. */
  inputStats: Record<string, TensorStats>;
}

/** The model's preprocessing manifest, checked against its declared inputs; undefined without one. */
export async function modelManifest(
  model: ModelConfig,
  description: ModelDescription,
  configDir?: string,
): Promise<Manifest | undefined> {
  if (!model.manifest) return undefined;
  const manifest = await loadManifest(model.manifest, configDir);
  checkManifestAgainstModel(manifest, description);
  return manifest;
}

/**
 * What the manifest says each input takes (range, values or mask): synthetic golden inputs are drawn
 * from it, so a sample rate is 16000, not 7, and a token id stays inside the vocabulary.
 */
export function manifestRanges(manifest: Manifest | undefined): Record<string, ValueRange> | undefined {
  if (!manifest) return undefined;
  return Object.fromEntries(
    Object.entries(manifest.inputs).map(([name, input]) => [
      name,
      {
        ...input.range,
        ...(input.values ? { values: input.values } : {}),
        ...(input.mask ? { mask: true } : {}),
      },
    ]),
  );
}

/**
 * Loads and vets the calibration data of an int8 engine at the profile's bench shape (fixed, or a
 * range's opt). Noise, constants, too few samples or a range far from the manifest's are refused
 * in one line before any compile: an engine calibrated on them would be silently wrong.
 */
export async function prepareCalibration(
  model: ModelConfig,
  description: ModelDescription,
  profile: EngineProfile,
  manifest: Manifest | undefined,
  dataSha256: string,
  limits: Limits = DEFAULT_LIMITS,
): Promise<JobCalibration> {
  const calibration = model.calibration!;
  const { samples } = await loadCalibrationSamples(
    calibration.data,
    description.inputs,
    benchShapes(profile),
    {
      maxTensorBytes: limits.maxTensorBytes,
      maxTotalBytes: limits.maxCalibrationBytes,
      totalName: `limits.maxCalibrationBytes or ${LIMIT_ENV.maxCalibrationBytes}`,
    },
  );
  const report = checkCalibrationData(samples, manifest, description.inputs);
  assertCalibrationData(report, calibration.data);
  return {
    samples,
    method: calibration.method,
    percentile: calibration.percentile,
    dataSha256,
    inputStats: report.stats,
  };
}

/**
 * Golden `.npy` inputs must look like what the model was trained on: a golden suite fed 0–255 data
 * for a model trained on normalized input would bless an engine on inputs nobody serves.
 */
export function checkGoldenAgainstManifest(
  manifest: Manifest | undefined,
  golden: GoldenInputs,
  where: string,
): void {
  if (!manifest || golden.source !== 'npy') return;
  const stats = Object.fromEntries(
    Object.entries(manifest.inputs).map(([name, input]) => [
      name,
      tensorStats(
        golden.samples.flatMap((sample) => (sample[name] ? [sample[name]] : [])),
        input.layout,
      ),
    ]),
  );
  const [first] = checkSkew(manifest, stats).findings;
  if (first) throw new InputError(`${where}: golden inputs do not match ${manifest.file}: ${first.message}`);
}
