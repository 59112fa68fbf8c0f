import path from 'node:path';
import type { KilnConfig } from '../core/io/config-load.js';
import type { ModelConfig } from '../core/config-schema.js';
import { artifactKey, keyDocument } from '../core/artifact-key.js';
import { sha256File, sha256Tree } from '../core/io/file-hashing.js';
import { assertTensorFits, effectiveLimits, runnerLimits, type Limits } from '../core/limits.js';
import type { Precision } from '../core/results.js';
import type { Backend, EngineProfile } from '../backends/backend.js';
import { describeModel, type IoSpec, type ModelDescription } from '../backends/model/onnx-model.js';
import { loadModelSkeleton } from '../backends/model/onnx-skeleton.js';
import { checkExternalData } from '../backends/model/external-data-check.js';
import { checkProfileShapes } from '../backends/model/profile-shape-check.js';
import { assertSupportedIo } from '../backends/model/io-type-check.js';
import { assertLoadableOps } from '../backends/model/op-domain-check.js';
import { assertNoShapeOperandInputs } from '../backends/model/shape-operand-inputs.js';
import { goldenShapes } from '../backends/model/profile-dims.js';
import { completeProfile } from '../backends/model/profile-complete.js';
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
  /**
   * Golden inputs, read or drawn and checked against the model and manifest on first call (once per
   * profile): a cache hit whose golden spec is unchanged never needs them. Not part of the key.
   */
  golden: () => Promise<GoldenInputs>;
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
  const limits = effectiveLimits(runnerLimits(process.env), config.limits);
  const jobs: EngineJob[] = [];
  const skipped: SkippedEngine[] = [];
  for (const model of models) {
    const index = config.models.indexOf(model);
    // Planning needs the signature and the nodes, never the weights: walked, not decoded.
    const proto = await loadModelSkeleton(model.path, config.configDir);
    // Every external file the model names, confined to its folder, for the key (cheap: no bytes read).
    const externalFiles = await checkExternalData(proto, model.path);
    const description = describeModel(proto);
    assertSupportedIo(description, model.path);
    assertLoadableOps(proto, model.path);
    model.profiles.forEach((profile, p) => {
      const where = `${config.configPath}: models[${index}].profiles[${p}]`;
      const bounds: Array<[string, Record<string, number[]>]> =
        'shapes' in profile
          ? [['shapes', profile.shapes]]
          : [
              ['min', profile.min],
              ['opt', profile.opt],
              ['max', profile.max],
            ];
      for (const [key, shapes] of bounds) {
        checkProfileShapes(description.inputs, shapes, `${where}.${key}`);
        assertProfileFits(description.inputs, shapes, `${where}.${key}`, limits);
      }
    });
    const manifest = await modelManifest(model, description, config.configDir);
    if (!model.golden.inputs) {
      const given = Object.keys(manifest?.inputs ?? {}).filter((name) => manifest?.inputs[name]?.values);
      assertNoShapeOperandInputs(
        proto,
        model.path,
        `${config.configPath}: models[${index}].golden.inputs`,
        given,
      );
    }
    const [modelSha256, externalDataSha256, calibrationSha256] = await Promise.all([
      sha256File(model.path, { root: config.configDir, what: 'model file' }),
      hashExternalData(model.path, externalFiles),
      model.calibration ? sha256Tree(model.calibration.data, 'calibration data') : null,
    ]);
    const manifestSha256 = manifest?.sha256 ?? null;
    // Fully static inputs a profile left out get the model's dims, so every later step sees them all.
    for (const profile of model.profiles.map((p) => completeProfile(description.inputs, p))) {
      const golden = once(async () => {
        const inputs = await goldenInputs({
          ...(model.golden.inputs ? { dir: model.golden.inputs } : {}),
          profileName: profile.name,
          shapes: goldenShapes(profile),
          inputs: description.inputs,
          samples: model.golden.samples,
          seed: model.golden.seed,
          limits,
          ...(manifest ? { ranges: manifestRanges(manifest) } : {}),
        });
        checkGoldenAgainstManifest(manifest, inputs, `${model.golden.inputs}/${profile.name}`);
        return inputs;
      });
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
            ? await prepareCalibration(model, description, profile, manifest, calibrationSha256, limits)
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
          externalDataSha256,
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

/**
 * Streams each external-data file of the model at `modelPath` through sha256 (one at a time: they
 * run to gigabytes), confined to the model's folder as the location check confined it.
 */
async function hashExternalData(
  modelPath: string,
  files: readonly string[],
): Promise<Record<string, string>> {
  const root = path.dirname(modelPath);
  const hashes: Record<string, string> = {};
  for (const file of files) {
    hashes[file] = await sha256File(path.join(root, file), { root, what: 'external data file' });
  }
  return hashes;
}

/**
 * Refuses a profile shape whose input tensor alone would exceed `limits.maxTensorBytes` (a 1e9 batch,
 * or a model whose own fixed dim is 1e9), before any input is drawn or any session is opened.
 */
function assertProfileFits(
  inputs: readonly IoSpec[],
  shapes: Readonly<Record<string, number[]>>,
  where: string,
  limits: Limits,
): void {
  for (const input of inputs) {
    const shape = shapes[input.name];
    if (shape === undefined) continue;
    const at = /^[A-Za-z_][A-Za-z0-9_]*$/.test(input.name)
      ? `${where}.${input.name}`
      : `${where}[${JSON.stringify(input.name)}]`;
    assertTensorFits(at, input.dtype, shape, limits.maxTensorBytes, 'limits.maxTensorBytes');
  }
}

/** `load`, run on the first call only; later calls share its promise (and its refusal). */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => (loaded ??= load());
}
