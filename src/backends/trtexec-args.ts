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
 * - TensorRT 11 builds strongly typed networks and dropped `--fp16`/`--calib`: fp16/int8 there need
 *   a model that already carries those types, so they are refused for major >= 11.
 */
import { InputError } from '../core/errors.js';
import type { Precision } from '../core/results.js';
import type { EngineProfile } from './backend.js';

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

/** `x:1x3x384x384,'in:0':1x2` (a scalar is written `name:scalar`, trtexec's spelling). */
export function shapeSpec(shapes: Readonly<Record<string, readonly number[]>>): string {
  return Object.entries(shapes)
    .map(([name, dims]) => `${trtexecTensorName(name)}:${dims.length === 0 ? 'scalar' : dims.join('x')}`)
    .join(',');
}

function pick(
  shapes: Readonly<Record<string, readonly number[]>>,
  dynamicInputs: ReadonlySet<string> | undefined,
): Record<string, readonly number[]> {
  if (!dynamicInputs) return { ...shapes };
  return Object.fromEntries(Object.entries(shapes).filter(([name]) => dynamicInputs.has(name)));
}

export interface TrtBuildArgs {
  modelPath: string;
  enginePath: string;
  profile: EngineProfile;
  precision: Precision;
  /** Inputs with a dynamic dim; only these get shape flags (a static model refuses them). All when absent. */
  dynamicInputs?: ReadonlySet<string>;
  /** int8 only: a calibration cache (implicit quantization). Absent: the model carries explicit Q/DQ nodes. */
  calibrationCache?: string;
  /** Host-cache path of the timing cache (created by trtexec on first use, reused after). */
  timingCacheFile?: string;
  /** Builder workspace pool limit in MiB. */
  workspaceMiB?: number;
  /** TensorRT major version of the host, for flags that changed (fp16/int8 in 11.x). */
  tensorrtMajor?: number;
}

/** `trtexec --onnx=M --saveEngine=E --skipInference [shapes] [precision] [caches]`. */
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
  if (o.precision !== 'fp32' && o.tensorrtMajor !== undefined && o.tensorrtMajor >= 11) {
    throw new InputError(
      `TensorRT ${o.tensorrtMajor} builds strongly typed networks and has no --${o.precision}: convert the model to ${o.precision} (or Q/DQ) first, or use precision fp32`,
    );
  }
  if (o.precision === 'fp16') args.push('--fp16');
  if (o.precision === 'int8') {
    // --int8 alone with a Q/DQ model is explicit quantization; --calib selects implicit (calibrated).
    args.push('--int8');
    if (o.calibrationCache !== undefined) args.push(`--calib=${o.calibrationCache}`);
  } else if (o.calibrationCache !== undefined) {
    throw new InputError(`trtexec: a calibration cache only applies to int8, not ${o.precision}`);
  }
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
