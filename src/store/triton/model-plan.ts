/**
 * Which Triton models a release becomes, and which engine file each one serves. Triton fixes a
 * model's dims in its config and kiln builds one engine per fixed profile, so each (kiln model,
 * profile, precision) is one Triton model `<model>_<profile>_<precision>`. GPU engines of one such
 * model built on different compute capabilities share it through `cc_model_filenames`: Triton
 * picks the file by the device's capability. Pure: reads nothing.
 */
import { InputError } from '../../core/errors.js';
import type { Precision } from '../../core/results.js';
import type { ReleaseEngine, ReleaseRecord } from '../release/release-record.js';

/** How a kiln backend's engines are served by Triton. */
interface TritonRuntime {
  platform?: string;
  backend?: string;
  /** Extension of the file in the version folder (`model.<ext>`). */
  extension: string;
  gpu: boolean;
}

const RUNTIMES: Readonly<Record<string, TritonRuntime>> = {
  tensorrt: { platform: 'tensorrt_plan', extension: 'plan', gpu: true },
  // An ORT-format model. ONNX Runtime reads the ORT format when the path ends in `.ort` (or the
  // session says so), hence this extension; and the format is not forward compatible: the
  // Triton release's ONNX Runtime must be at least the one kiln wrote it with (docs/triton.md).
  'onnxruntime-cpu': { backend: 'onnxruntime', extension: 'ort', gpu: false },
  'onnxruntime-gpu': { backend: 'onnxruntime', extension: 'onnx', gpu: true },
};

/** Backends the Triton export can serve. */
export const TRITON_BACKENDS: readonly string[] = Object.keys(RUNTIMES);

/** One engine of a Triton model and the file name it gets in the version folder. */
export interface TritonEngineFile {
  engine: ReleaseEngine;
  fileName: string;
  computeCapability?: string;
}

/** One Triton model to write: its name, runtime and engine files (sorted by compute capability). */
export interface TritonModelPlan {
  name: string;
  profile: string;
  precision: Precision;
  /** The kiln backend all its engines come from. */
  kilnBackend: string;
  platform?: string;
  backend?: string;
  gpu: boolean;
  files: TritonEngineFile[];
  defaultModelFilename?: string;
  ccModelFilenames: Record<string, string>;
}

// A folder name Triton, its HTTP/gRPC routes and shells all take as is.
const MODEL_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;
const COMPUTE_CAPABILITY = /^\d{1,2}\.\d{1,2}$/;

/** `<model>_<profile>_<precision>`, refused (naming `where`) when Triton cannot use it as a folder name. */
export function tritonModelName(model: string, profile: string, precision: string, where: string): string {
  const name = `${model}_${profile}_${precision}`;
  if (!MODEL_NAME.test(name)) {
    throw new InputError(
      `${where}: Triton model name '${name}' (model_profile_precision) is not usable, expected letters, digits, '.', '_' or '-' (at most 255, not starting with '.' or '-')`,
    );
  }
  return name;
}

function computeCapability(engine: ReleaseEngine, where: string): string {
  const cc = engine.hardware.computeCapability;
  if (typeof cc !== 'string' || !COMPUTE_CAPABILITY.test(cc)) {
    throw new InputError(
      `${where}: engine ${engine.key} (${engine.backend}): hardware.computeCapability is ${JSON.stringify(cc) ?? 'missing'}, expected a string like "8.6"`,
    );
  }
  return cc;
}

function planModel(name: string, runtime: TritonRuntime, engines: ReleaseEngine[], where: string) {
  const first = engines[0] as ReleaseEngine;
  const plan: TritonModelPlan = {
    name,
    profile: first.profile,
    precision: first.precision,
    kilnBackend: first.backend,
    ...(runtime.platform === undefined ? {} : { platform: runtime.platform }),
    ...(runtime.backend === undefined ? {} : { backend: runtime.backend }),
    gpu: runtime.gpu,
    files: [],
    ccModelFilenames: {},
  };
  const single = `model.${runtime.extension}`;
  if (!runtime.gpu) {
    if (engines.length > 1) {
      // CPU engines differ by ISA, which Triton cannot select on.
      throw new InputError(
        `${where}: engines ${first.key} and ${engines[1]?.key} both serve Triton model ${name} on CPU: Triton cannot choose between engines built for different CPUs; release only one of them`,
      );
    }
    return { ...plan, files: [{ engine: first, fileName: single }], defaultModelFilename: single };
  }
  const byCc = new Map<string, ReleaseEngine>();
  for (const engine of engines) {
    const cc = computeCapability(engine, where);
    const other = byCc.get(cc);
    if (other) {
      throw new InputError(
        `${where}: engines ${other.key} and ${engine.key} both target compute capability ${cc} for Triton model ${name}: Triton cannot choose between them; release only one of them`,
      );
    }
    byCc.set(cc, engine);
  }
  const ccs = [...byCc.keys()].sort((a, b) => Number(a) - Number(b));
  for (const cc of ccs) {
    const fileName = ccs.length === 1 ? single : `model.sm${cc.replace('.', '')}.${runtime.extension}`;
    plan.files.push({ engine: byCc.get(cc) as ReleaseEngine, fileName, computeCapability: cc });
    plan.ccModelFilenames[cc] = fileName;
  }
  // With several files there is no right default: a device of another capability must fail to
  // load (Triton names the missing file) rather than deserialize a plan built for other hardware.
  return ccs.length === 1 ? { ...plan, defaultModelFilename: single } : plan;
}

/**
 * Groups the release's engines (only those of `backends`, when given) into Triton models. Refuses,
 * naming `where` (release.json) and both keys, a backend Triton cannot serve, two backends for one
 * Triton model, two CPU engines for one model, and two GPU engines with one compute capability.
 */
export function planTritonModels(
  release: ReleaseRecord,
  where: string,
  backends?: readonly string[],
): TritonModelPlan[] {
  const groups = new Map<string, ReleaseEngine[]>();
  for (const engine of release.engines) {
    if (backends && !backends.includes(engine.backend)) continue;
    if (!RUNTIMES[engine.backend]) {
      throw new InputError(
        `${where}: engine ${engine.key} has backend '${engine.backend}', which Triton cannot serve (expected one of ${TRITON_BACKENDS.join(', ')}; select backends to export)`,
      );
    }
    const name = tritonModelName(release.model, engine.profile, engine.precision, where);
    const group = groups.get(name) ?? [];
    const mixed = group.find((e) => e.backend !== engine.backend);
    if (mixed) {
      throw new InputError(
        `${where}: engines ${mixed.key} (${mixed.backend}) and ${engine.key} (${engine.backend}) would both be Triton model ${name}: select one backend to export`,
      );
    }
    groups.set(name, [...group, engine]);
  }
  return [...groups].map(([name, engines]) =>
    planModel(name, RUNTIMES[engines[0]?.backend as string] as TritonRuntime, engines, where),
  );
}
