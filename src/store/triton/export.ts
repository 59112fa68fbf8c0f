/**
 * Exports a kiln release as a Triton model repository:
 *
 * ```
 * <repository>/<model>_<profile>_<precision>/config.pbtxt
 * <repository>/<model>_<profile>_<precision>/<version>/model.plan | model.sm86.plan | model.ort | model.onnx
 * <repository>/<model>_<profile>_<precision>/warmup/kiln-golden-<i>-<input>
 * ```
 *
 * Triton serves only the newest version by default, so config.pbtxt and warmup/ always describe
 * the newest one. Writing is triton-repository.ts's: staged, renamed into place, config last.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../core/errors.js';
import { acquireFileLock, describeOwner, FileLockError } from '../../core/io/file-lock.js';
import { readArtifactRecord } from '../artifact.js';
import { readRelease } from '../release/release-record.js';
import type { ReleaseRecord } from '../release/release-record.js';
import { renderTritonConfig } from './config.js';
import type { TritonAccelerator, TritonModelConfig } from './config.js';
import { planTritonModels } from './model-plan.js';
import type { TritonModelPlan } from './model-plan.js';
import { checkEnginesForTriton } from './releases.js';
import { tritonVersions, writeTritonModels } from './repository.js';
import type { TritonModelWrite } from './repository.js';
import { readTritonSignature } from './signature.js';
import type { TritonSignature } from './signature.js';

/** What to export and where. */
export interface TritonExportOptions {
  /** The release folder: `<releases>/<model>/<version>`, holding release.json. */
  release: string;
  /** The Triton model repository root; created when missing. */
  repository: string;
  /** Triton version folder to write: a positive integer above every one there; default: the next one. */
  tritonVersion?: number;
  /** Export only engines of these kiln backends (e.g. `['tensorrt']`); default: all. */
  backends?: readonly string[];
  /**
   * The Triton container release that will serve the models ("25.01"): TensorRT plans are checked
   * against the TensorRT it bundles (triton-releases.ts). Required when the export holds a plan.
   */
  tritonRelease?: string;
}

/** One Triton model written by the export. */
export interface TritonExportedModel {
  name: string;
  version: number;
  /** `<repository>/<name>`. */
  dir: string;
  /** Artifact keys of the engines it serves, in file order. */
  keys: string[];
  /** Files written, relative to `dir`. */
  files: string[];
}

interface PreparedModel {
  plan: TritonModelPlan;
  signature: TritonSignature;
  version: number;
  dir: string;
  exists: boolean;
}

/** Reads every artifact of `plan`, checking that its engines agree on inputs and outputs. */
async function planSignature(releaseDir: string, plan: TritonModelPlan): Promise<TritonSignature> {
  let first: { signature: TritonSignature; key: string } | undefined;
  for (const { engine } of plan.files) {
    const dir = path.join(releaseDir, engine.dir);
    const record = await readArtifactRecord(dir);
    if (record.key !== engine.key || record.engine?.file !== engine.engine.file) {
      throw new InputError(
        `${path.join(dir, 'artifact.json')}: key ${record.key} / engine ${record.engine?.file} differ from release.json's ${engine.key} / ${engine.engine.file}`,
      );
    }
    const signature = await readTritonSignature(dir, record);
    if (!first) {
      first = { signature, key: engine.key };
      continue;
    }
    const io = (s: TritonSignature) => JSON.stringify([s.inputs, s.outputs]);
    if (io(signature) !== io(first.signature)) {
      throw new InputError(
        `${path.join(dir, 'artifact.json')}: engine ${engine.key} has other inputs or outputs than ${first.key}, yet both would be Triton model ${plan.name}`,
      );
    }
  }
  return (first as { signature: TritonSignature }).signature;
}

/** Where Triton's TensorRT accelerator keeps its engines: writable in the stock container. */
export const TRITON_TRT_CACHE_ROOT = '/tmp/kiln-trt-engine-cache';

/**
 * The TensorRT accelerator for an onnxruntime-gpu engine verified on the TensorRT EP (releases
 * made before kiln ran onnxruntime-gpu on the CUDA EP only): precision as built, and an engine
 * cache per model so a restart does not rebuild (onnxruntime_backend README, "ONNX Runtime with
 * TensorRT optimization"). max_workspace_size_bytes keeps Triton's default (1 GB).
 */
function tensorRtAccelerator(plan: TritonModelPlan): TritonAccelerator {
  return {
    name: 'tensorrt',
    parameters: {
      precision_mode: plan.precision.toUpperCase(),
      trt_engine_cache_enable: 'true',
      trt_engine_cache_path: `${TRITON_TRT_CACHE_ROOT}/${plan.name}`,
    },
  };
}

function modelConfig(prepared: PreparedModel, release: ReleaseRecord): TritonModelConfig {
  const { plan, signature } = prepared;
  const accelerator = plan.kilnBackend === 'onnxruntime-gpu' && plan.files[0]?.engine.hardware.provider;
  return {
    name: plan.name,
    ...(plan.platform === undefined ? {} : { platform: plan.platform }),
    ...(plan.backend === undefined ? {} : { backend: plan.backend }),
    // A ranged batch dim lets Triton batch requests up to the profile's max; otherwise the
    // profile's dims are the whole tensor and Triton must not add a batch dimension.
    maxBatchSize: signature.maxBatchSize,
    ...(signature.maxBatchSize > 0 ? { dynamicBatching: true } : {}),
    inputs: signature.inputs,
    outputs: signature.outputs,
    instanceKind: plan.gpu ? 'KIND_GPU' : 'KIND_CPU',
    ...(plan.defaultModelFilename === undefined ? {} : { defaultModelFilename: plan.defaultModelFilename }),
    ccModelFilenames: plan.ccModelFilenames,
    ...(accelerator === 'tensorrt' ? { gpuAccelerators: [tensorRtAccelerator(plan)] } : {}),
    parameters: {
      kiln_release: release.version,
      kiln_artifact_keys: plan.files.map((f) => f.engine.key).join(','),
    },
    warmup: signature.warmup,
  };
}

/** Everything writeTritonModels needs for one prepared model. */
function modelWrite(releaseDir: string, release: ReleaseRecord, prepared: PreparedModel): TritonModelWrite {
  const comment = [
    `Written by kiln from release ${release.model}@${release.version}; the next export replaces it.`,
  ];
  if (prepared.plan.files.some(({ engine }) => engine.hardware.versionCompatible === true)) {
    // tensorrt_backend README: version-compatible plans load only with this server option.
    comment.push(
      'Version-compatible TensorRT plans: start tritonserver with --backend-config=tensorrt,version-compatible=true',
    );
  }
  return {
    name: prepared.plan.name,
    version: prepared.version,
    dir: prepared.dir,
    exists: prepared.exists,
    engines: prepared.plan.files.map(({ engine, fileName }) => ({
      source: path.join(releaseDir, engine.dir, engine.engine.file),
      fileName,
    })),
    warmupFiles: prepared.signature.warmupFiles,
    config: renderTritonConfig(modelConfig(prepared, release), comment),
  };
}

function checkVersion(version: number | undefined): void {
  if (version !== undefined && (!Number.isSafeInteger(version) || version < 1)) {
    throw new InputError(`tritonVersion: found ${version}, expected a positive integer`);
  }
}

/**
 * Exports the release in `options.release` (re-hashed by readRelease) into the Triton repository.
 * Everything is checked before anything is written: a version folder that already exists, an
 * engine Triton cannot serve or cannot choose, and damaged golden data are refused with one line.
 * A version at or below the newest one there is refused too: config.pbtxt serves the newest.
 */
export async function exportTritonRepository(options: TritonExportOptions): Promise<TritonExportedModel[]> {
  checkVersion(options.tritonVersion);
  const release = await readRelease(options.release);
  const where = path.join(options.release, 'release.json');
  const plans = planTritonModels(release, where, options.backends);
  if (plans.length === 0) {
    const only = options.backends ? ` of backends ${options.backends.join(', ')}` : '';
    throw new InputError(`${where}: no engines${only} to export`);
  }
  const engines = plans.flatMap((plan) => plan.files.map((f) => f.engine));
  checkEnginesForTriton(engines, options.tritonRelease, where);
  // One export at a time per repository: versions are chosen from what is there, and a crashed
  // export's staging folder (which Triton would try to load as a model) is swept under the lock.
  const lock = await lockRepository(options.repository);
  try {
    return await exportLocked(options, release, plans);
  } finally {
    await lock.release();
  }
}

async function exportLocked(
  options: TritonExportOptions,
  release: ReleaseRecord,
  plans: TritonModelPlan[],
): Promise<TritonExportedModel[]> {
  const prepared: PreparedModel[] = [];
  for (const plan of plans) {
    const dir = path.join(options.repository, plan.name);
    const versions = await tritonVersions(dir);
    const newest = Math.max(0, ...(versions ?? []));
    const version = options.tritonVersion ?? newest + 1;
    if (version <= newest) {
      // config.pbtxt and warmup/ describe the newest version, the one Triton serves by default:
      // writing them for an older one would break the version being served.
      const what = versions?.includes(version) ? 'already exists' : `is older than version ${newest} there`;
      throw new InputError(
        `${path.join(dir, String(version))}: Triton version ${version} ${what}, expected a new version (next free: ${newest + 1})`,
      );
    }
    const signature = await planSignature(options.release, plan);
    prepared.push({ plan, signature, version, dir, exists: versions !== undefined });
  }
  const written = await writeTritonModels(
    options.repository,
    prepared.map((model) => modelWrite(options.release, release, model)),
  );
  return prepared.map((model, i) => ({
    name: model.plan.name,
    version: model.version,
    dir: model.dir,
    keys: model.plan.files.map((f) => f.engine.key),
    files: written[i] as string[],
  }));
}

async function lockRepository(repository: string): Promise<{ release(): Promise<void> }> {
  await mkdir(repository, { recursive: true });
  let lock;
  try {
    lock = await acquireFileLock(path.join(repository, '.kiln-export.lock'), 'kiln triton export');
  } catch (error) {
    if (!(error instanceof FileLockError) || error.reason !== 'held') throw error;
    throw new InputError(
      `${repository}: ${describeOwner(error.details.owner)} is exporting into this Triton repository; try again when it is done`,
      { cause: error },
    );
  }
  for (const name of await readdir(repository)) {
    if (name.startsWith('.kiln-tmp-'))
      await rm(path.join(repository, name), { recursive: true, force: true });
  }
  return lock;
}
