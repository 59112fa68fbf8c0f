/**
 * trtexec command lines (pure). Flag names and spec grammar follow trtexec's own help and parser
 * (NVIDIA/TensorRT samples/common/sampleOptions.cpp, 8.6 through 11.x):
 *
 * - A shape or input list is split on ',' first, then each pair on its LAST ':' unless the name is
 *   wrapped in single quotes (`'Input:0':1x3x224x224`). So a name with ':' is quoted, and a name
 *   with ',' or `'` cannot be expressed at all: it is refused here with an InputError instead of
 *   letting trtexec silently bind the wrong tensor. `*` is a name wildcard since 10.x: refused too.
 * - Arguments go to execa as an argv array (no shell), so the quotes are literal characters.
 * - A static model refuses explicit build shapes ("Static model does not take explicit shapes"), so
 *   build shapes are given only for inputs that have a dynamic dim.
 * - `--memPoolSize` is given in MiB without a suffix: 8.6 reads MiB, 10.x+ defaults to MiB.
 * - Precision and compatibility flags differ per version: see precisionFlags and compatibilityFlags.
 */
import { InputError } from '../../core/errors.js';
import type { Precision } from '../../core/results.js';
import type { EngineProfile } from '../backend.js';

/** The trtexec executable kiln runs (found on PATH). */
export const TRTEXEC = 'trtexec';

/** One input's name as trtexec's list grammar needs it: quoted when it contains ':'. */
export function trtexecTensorName(name: string): string {
  if (name.length === 0) throw new InputError('trtexec: an input with an empty name cannot be given shapes');
  for (const bad of [',', "'", '*']) {
    if (name.includes(bad)) {
      throw new InputError(
        `trtexec: input name '${name}' contains '${bad}', which trtexec's shape/input lists cannot express (rename the input)`,
      );
    }
  }
  return name.includes(':') ? `'${name}'` : name;
}

/**
 * `x:1x3x384x384,'in:0':1x2,'s':`. A scalar is its quoted name with nothing after the colon: 8.6
 * parses dims with `stoi` and has no `scalar` keyword (NVIDIA/TensorRT v8.6.1
 * samples/common/sampleOptions.cpp `stringToValue<std::vector<int32_t>>`; `scalar` arrived in
 * 10.0), and an unquoted `s:` is split by `splitToStringVec`, which drops the empty last field, so
 * the name would be read as the value. The quoted form's value is the empty string, an empty dims
 * list, on 8.6 and 10.x alike (`splitNameAndValue`, both tags).
 */
export function shapeSpec(shapes: Readonly<Record<string, readonly number[]>>): string {
  return Object.entries(shapes)
    .map(([name, dims]) =>
      dims.length === 0
        ? `'${trtexecTensorNameChecked(name)}':`
        : `${trtexecTensorName(name)}:${dims.join('x')}`,
    )
    .join(',');
}

function trtexecTensorNameChecked(name: string): string {
  trtexecTensorName(name);
  return name;
}

function pick(
  shapes: Readonly<Record<string, readonly number[]>>,
  dynamicInputs: ReadonlySet<string> | undefined,
): Record<string, readonly number[]> {
  if (!dynamicInputs) return { ...shapes };
  return Object.fromEntries(Object.entries(shapes).filter(([name]) => dynamicInputs.has(name)));
}

/** How much of the GPU a plan is tied to (TensorRT's HardwareCompatibilityLevel; kiln.yaml spelling). */
export type HardwareCompatibility = 'none' | 'ampere+' | 'same-compute-capability';

export interface TrtBuildArgs {
  modelPath: string;
  enginePath: string;
  profile: EngineProfile;
  precision: Precision;
  /** Inputs with a dynamic dim; only these get shape flags (a static model refuses them). All when absent. */
  dynamicInputs?: ReadonlySet<string>;
  /** Host-cache path of the timing cache (created by trtexec on first use, reused after). */
  timingCacheFile?: string;
  /** Builder workspace pool limit in MiB. */
  workspaceMiB?: number;
  /** TensorRT version of the host ("10.3.0"): flags differ between 8.6, 10.x and 11.x. */
  tensorrt: string;
  /** `--hardwareCompatibilityLevel`; 'none' (the default) adds no flag. */
  hardwareCompatibility?: HardwareCompatibility;
  /** `--versionCompatible`: the plan embeds the lean runtime and loads on later TensorRT versions. */
  versionCompatible?: boolean;
}

/** "10.3.0" → [10, 3]; anything unreadable is an InputError (a guess would pick wrong flags). */
export function trtMajorMinor(version: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) throw new InputError(`TensorRT version '${version}' is not major.minor[.patch]`);
  return [Number(m[1]), Number(m[2])];
}

/** Whether `version` is at least major.minor. */
export function trtAtLeast(version: string, major: number, minor = 0): boolean {
  const [a, b] = trtMajorMinor(version);
  return a > major || (a === major && b >= minor);
}

/**
 * The precision flags for a build. int8 is always explicit quantization: the ONNX file carries
 * Q/DQ nodes (the model's own or kiln's, tensorrt.ts), never `--int8` alone, which sets placeholder
 * dynamic ranges (NVIDIA/TensorRT samples/trtexec/README.md: trtexec "does not provide calibration
 * capability"). 8.6 and 9.x: `--int8 --fp16` (Q/DQ layers run int8, the rest may use fp16, the
 * explicit-quantization recipe of the developer guide). 10.x: `--stronglyTyped`, which takes every
 * type from the model; trtexec drops `--fp16`/`--int8` next to it with a warning (v10.3.0 sampleOptions.cpp).
 * 11.x builds strongly typed by default and `--stronglyTyped` is a no-op (main sampleOptions.cpp):
 * no flag; fp16 there needs an fp16 model and is refused.
 */
function precisionFlags(precision: Precision, tensorrt: string): string[] {
  const [major] = trtMajorMinor(tensorrt);
  if (precision === 'fp32') return [];
  if (precision === 'fp16') {
    if (major >= 11) {
      throw new InputError(
        `TensorRT ${major} builds strongly typed networks and has no --fp16: convert the model to fp16 first, or use precision fp32`,
      );
    }
    return ['--fp16'];
  }
  if (major >= 11) return [];
  if (major === 10) return ['--stronglyTyped'];
  return ['--int8', '--fp16'];
}

/**
 * `--hardwareCompatibilityLevel` and `--versionCompatible`, refused where the host's trtexec lacks
 * them: both arrived in 8.6 (v8.6.1 sampleOptions.cpp: levels none, ampere+);
 * `sameComputeCapability` in 10.9 (v10.9.0 sampleOptions.cpp; absent in v10.8.0).
 */
function compatibilityFlags(o: TrtBuildArgs): string[] {
  const flags: string[] = [];
  const level = o.hardwareCompatibility ?? 'none';
  if (level !== 'none' || o.versionCompatible) {
    if (!trtAtLeast(o.tensorrt, 8, 6)) {
      throw new InputError(
        `TensorRT ${o.tensorrt} has no hardware or version compatibility (TensorRT 8.6 added both): remove trt.hardwareCompatibility / trt.versionCompatible`,
      );
    }
  }
  if (level === 'ampere+') flags.push('--hardwareCompatibilityLevel=ampere+');
  if (level === 'same-compute-capability') {
    if (!trtAtLeast(o.tensorrt, 10, 9)) {
      throw new InputError(
        `TensorRT ${o.tensorrt} has no hardwareCompatibilityLevel sameComputeCapability (TensorRT 10.9 added it): use none or ampere+`,
      );
    }
    flags.push('--hardwareCompatibilityLevel=sameComputeCapability');
  }
  if (o.versionCompatible) flags.push('--versionCompatible');
  return flags;
}

/** `trtexec --onnx=M --saveEngine=E --skipInference [shapes] [precision] [compatibility] [caches]`. */
export function trtexecBuildArgs(o: TrtBuildArgs): string[] {
  const args = [`--onnx=${o.modelPath}`, `--saveEngine=${o.enginePath}`, '--skipInference'];
  if ('shapes' in o.profile) {
    const fixed = pick(o.profile.shapes, o.dynamicInputs);
    if (Object.keys(fixed).length > 0) args.push(`--shapes=${shapeSpec(fixed)}`);
  } else {
    const min = pick(o.profile.min, o.dynamicInputs);
    if (Object.keys(min).length > 0) {
      args.push(
        `--minShapes=${shapeSpec(min)}`,
        `--optShapes=${shapeSpec(pick(o.profile.opt, o.dynamicInputs))}`,
        `--maxShapes=${shapeSpec(pick(o.profile.max, o.dynamicInputs))}`,
      );
    }
  }
  args.push(...precisionFlags(o.precision, o.tensorrt), ...compatibilityFlags(o));
  if (o.timingCacheFile !== undefined) args.push(`--timingCacheFile=${o.timingCacheFile}`);
  if (o.workspaceMiB !== undefined) {
    if (!Number.isSafeInteger(o.workspaceMiB) || o.workspaceMiB <= 0) {
      throw new InputError(
        `trtexec: workspace must be a positive whole number of MiB, got ${o.workspaceMiB}`,
      );
    }
    args.push(`--memPoolSize=workspace:${o.workspaceMiB}`);
  }
  return args;
}

export interface TrtBenchArgs {
  enginePath: string;
  /** Inference shapes of every input (a static engine accepts its own shapes unchanged). */
  shapes: Readonly<Record<string, readonly number[]>>;
  /** trtexec warm-up, in milliseconds (trtexec's unit; its default is 200). */
  warmUpMs: number;
  /** Run at least this many timed iterations... */
  iterations: number;
  /** ...and for at least this many seconds (0: iterations alone decide). */
  durationS: number;
  /** Where `--exportTimes` writes the per-iteration JSON. */
  timesPath: string;
  /** Raw input files (data-dependent ops such as NMS time differently on random data). */
  inputFiles?: Readonly<Record<string, string>>;
}

/**
 * `trtexec --loadEngine=E --shapes=... --warmUp --iterations --duration --exportTimes=T.json
 * --useSpinWait --noDataTransfers`.
 *
 * --useSpinWait: trtexec itself warns that blocking sync makes GPU time unstable and suggests it.
 * --noDataTransfers: the latency is the engine's GPU time, without host↔device copies, which
 * depend on the PCIe link and not on the engine. TensorRT 11 made both the default and turned the
 * flags into accepted no-ops, so the same command measures the same thing on 8.6, 10.x and 11.x.
 */
export function trtexecBenchArgs(o: TrtBenchArgs): string[] {
  for (const [what, value] of [
    ['warmUpMs', o.warmUpMs],
    ['iterations', o.iterations],
    ['durationS', o.durationS],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InputError(`trtexec: ${what} must be a whole number >= 0, got ${value}`);
    }
  }
  return [
    `--loadEngine=${o.enginePath}`,
    ...(Object.keys(o.shapes).length > 0 ? [`--shapes=${shapeSpec(o.shapes)}`] : []),
    ...loadInputs(o.inputFiles ?? {}),
    `--warmUp=${o.warmUpMs}`,
    `--iterations=${Math.max(1, o.iterations)}`,
    `--duration=${o.durationS}`,
    `--exportTimes=${o.timesPath}`,
    '--useSpinWait',
    '--noDataTransfers',
  ];
}

export interface TrtGoldenArgs {
  enginePath: string;
  shapes: Readonly<Record<string, readonly number[]>>;
  /** Raw little-endian tensor file per input name. */
  inputFiles: Readonly<Record<string, string>>;
  /** Where `--exportOutput` writes the output tensors as JSON. */
  outputPath: string;
}

/**
 * `trtexec --loadEngine=E --shapes=... --loadInputs=x:x.bin --exportOutput=out.json`, one
 * iteration, no warm-up. File paths follow the name's `:` (quoted names keep everything after
 * `':`), so a path with ',' cannot be expressed either and is refused.
 */
export function trtexecGoldenArgs(o: TrtGoldenArgs): string[] {
  return [
    `--loadEngine=${o.enginePath}`,
    ...(Object.keys(o.shapes).length > 0 ? [`--shapes=${shapeSpec(o.shapes)}`] : []),
    ...loadInputs(o.inputFiles),
    '--warmUp=0',
    '--iterations=1',
    '--duration=0',
    `--exportOutput=${o.outputPath}`,
  ];
}

/** `--loadInputs=x:/w/x.bin,'in:0':/w/in0.bin`, or nothing when there are no files. */
function loadInputs(files: Readonly<Record<string, string>>): string[] {
  const specs = Object.entries(files).map(([name, file]) => {
    if (file.includes(',')) throw new InputError(`trtexec: input file path '${file}' contains ','`);
    if (file.includes("'"))
      throw new InputError(`trtexec: input file path '${file}' contains a single quote`);
    const spelled = trtexecTensorName(name);
    // An unquoted name is split on the LAST ':', so a path with ':' needs the quoted form.
    return `${file.includes(':') && !spelled.startsWith("'") ? `'${name}'` : spelled}:${file}`;
  });
  return specs.length > 0 ? [`--loadInputs=${specs.join(',')}`] : [];
}
