import type { KilnConfig } from '../core/config-load.js';
import type { ModelConfig } from '../core/config-schema.js';
import { artifactKey, keyDocument } from '../core/artifact-key.js';
import { sha256File, sha256Tree } from '../core/hashing.js';
import type { Precision } from '../core/results.js';
import type { Backend, EngineProfile } from '../backends/backend.js';
import { describeModel, loadOnnxModel, type ModelDescription } from '../backends/onnx-model.js';
import { checkProfileShapes } from '../backends/profile-shape-check.js';
import { goldenShapes } from '../backends/profile-dims.js';
import { keyInputsFor, type CompileSpec } from './compile-spec.js';
import { goldenInputs, type GoldenInputs } from './golden-inputs.js';
import {
  checkGoldenAgainstManifest,
  manifestRanges,
  modelManifest,
  prepareCalibration,
  type JobCalibration,
} from './model-inputs.js';

/** One engine to produce: a model × profile × precision for one backend, with its key. */
export interface EngineJob {
  model: ModelConfig;
  description: ModelDescription;
  profile: EngineProfile;
  precision: Precision;
  /** What compile() is asked for; `key` is made from exactly this value. */
  compile: CompileSpec;
  key: string;
  keyInputs: Record<string, unknown>;
  /** Golden inputs, loaded and checked against the model while planning. */
  golden: GoldenInputs;
  /** int8 only: vetted calibration samples. */
  calibration?: JobCalibration;
}

export interface SkippedEngine {
  model: string;
  profile: string;
  precision: Precision;
  reason: string;
}

/**
 * Validates every selected model, profile and golden input against the model file and keys every
 * engine before any compile starts: a wrong shape in the last profile must not surface after minutes
 * of work.
 */
export async function planEngineJobs(
  config: KilnConfig,
  models: ModelConfig[],
  backend: Backend,
): Promise<{ jobs: EngineJob[]; skipped: SkippedEngine[] }> {
  const [backendVersion, hardware] = await Promise.all([backend.version(), backend.hardwareFingerprint()]);
  const supported = backend.supportedPrecisions();
  const jobs: EngineJob[] = [];
  const skipped: SkippedEngine[] = [];
  for (const model of models) {
    const index = config.models.indexOf(model);
    const { model: proto } = await loadOnnxModel(model.path);
    const description = describeModel(proto);
    model.profiles.forEach((profile, p) => {
      const where = `${config.configPath}: models[${index}].profiles[${p}]`;
      if ('shapes' in profile) checkProfileShapes(description.inputs, profile.shapes, `${where}.shapes`);
      else
        for (const bound of ['min', 'opt', 'max'] as const)
          checkProfileShapes(description.inputs, profile[bound], `${where}.${bound}`);
    });
    const manifest = await modelManifest(model, description);
    const [modelSha256, calibrationSha256] = await Promise.all([
      sha256File(model.path),
      model.calibration ? sha256Tree(model.calibration.data) : null,
    ]);
    const manifestSha256 = manifest?.sha256 ?? null;
    for (const profile of model.profiles) {
      const golden = await goldenInputs({
        ...(model.golden.inputs ? { dir: model.golden.inputs } : {}),
        profileName: profile.name,
        shapes: goldenShapes(profile),
        inputs: description.inputs,
        samples: model.golden.samples,
        seed: model.golden.seed,
        ...(manifest ? { ranges: manifestRanges(manifest) } : {}),
      });
      checkGoldenAgainstManifest(manifest, golden, `${model.golden.inputs}/${profile.name}`);
      for (const precision of model.precisions) {
        if (!supported.includes(precision)) {
          skipped.push({
            model: model.name,
            profile: profile.name,
            precision,
            reason: `${backend.name} builds ${supported.join(', ')} only`,
          });
          continue;
        }
        const calibration =
          precision === 'int8' && calibrationSha256
            ? await prepareCalibration(model, description, profile, manifest, calibrationSha256)
            : undefined;
        const compile: CompileSpec = {
          modelPath: model.path,
          profile,
          precision,
          ...(calibration
            ? {
                calibration: {
                  samples: calibration.samples,
                  method: calibration.method,
                  percentile: calibration.percentile,
                },
              }
            : {}),
        };
        const inputs = keyInputsFor(compile, {
          modelSha256,
          manifestSha256,
          calibrationSha256,
          backend: { name: backend.name, version: backendVersion },
          hardware,
          compileOptions: backend.compileOptions(precision),
        });
        jobs.push({
          model,
          description,
          profile,
          precision,
          compile,
          key: artifactKey(inputs),
          keyInputs: keyDocument(inputs),
          golden,
          ...(calibration ? { calibration } : {}),
        });
      }
    }
  }
  return { jobs, skipped };
}
