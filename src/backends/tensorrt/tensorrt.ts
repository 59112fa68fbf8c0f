/**
 * TensorRT through `trtexec` (docs/agent.md "GPU backends"). Every GPU step is a
 * trtexec process: build (`--saveEngine --skipInference`), golden (`--loadInputs/--exportOutput`)
 * and benchmark (`--exportTimes`). The GPU fingerprint is injected: backends may import only core,
 * so the host probe (runner-agent) is handed in as a function, and so is the process runner
 * (host/command-runner.ts, the one seam every spawn goes through).
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { firstLine, InputError } from '../../core/errors.js';
import type { Precision } from '../../core/results.js';
import { isTensorDtype } from '../../core/tensor.js';
import type { HostTensor, TensorDtype } from '../../core/tensor.js';
import type {
  Backend,
  BenchmarkSettings,
  CompiledEngine,
  CompileRequest,
  EngineSession,
  SessionOptions,
} from '../backend.js';
import { execaRunner, isMissing, type CommandRunner } from '../host/command-runner.js';
import { describeModel, loadOnnxModel } from '../model/onnx-model.js';
import type { IoSpec } from '../model/onnx-model.js';
import { OnnxRuntimeCpuBackend } from '../onnxruntime/onnxruntime-cpu.js';
import { int8OnnxFile, TENSORRT_INT8_SCHEME } from './tensorrt-int8.js';
import { assertTensorRtCanCheck, engineInputBytes, narrowsInt64 } from './tensorrt-model.js';
import {
  TRTEXEC,
  trtAtLeast,
  trtexecBenchArgs,
  trtexecBuildArgs,
  trtexecGoldenArgs,
} from './trtexec-args.js';
import type { HardwareCompatibility } from './trtexec-args.js';
import {
  buildSeconds,
  explainTrtexecFailure,
  parseExportOutput,
  parseExportTimes,
  tensorrtVersionFromBanner,
  trtexecPassed,
} from './trtexec-output.js';

export { detectTensorRt, findExecutable, type Availability } from './trtexec-on-path.js';

/** The GPU facts an engine depends on (runner-agent's gpuFingerprint without `kind`). */
export interface GpuFingerprint {
  /** nvidia-smi's product name, "NVIDIA A10G": GPUs of one compute capability (A10G, A40) differ. */
  name: string;
  /** "8.6" */
  computeCapability: string;
  /** A minimum, not an identity: recorded, not keyed (artifact-key.ts MINIMUM_HARDWARE_FIELDS). */
  driverMajor: number;
  /** "12.4", the CUDA version the driver supports: a minimum like the driver. */
  cuda: string;
  /** "10.3.0", the loaded libnvinfer's version (host-probe.ts), not trtexec's banner. */
  tensorrt: string;
  /** The MIG profile ("1g.10gb") when the leased device is a MIG instance. */
  mig?: string;
}

/** `targets[].trt` of kiln.yaml: how portable the plans are. */
export interface TrtCompatibility {
  hardwareCompatibility?: HardwareCompatibility;
  versionCompatible?: boolean;
}

/** "8.6" → "sm86". */
export function smName(computeCapability: string): string {
  return `sm${computeCapability.replace('.', '')}`;
}

export interface TensorRtBackendOptions {
  /** The host's GPU fingerprint (runner-agent's probe, injected). */
  fingerprint: () => Promise<GpuFingerprint>;
  /** Host cache folder for TensorRT timing caches (one per compute capability and TensorRT version). */
  timingCacheDir: string;
  /** Scratch folder for golden inputs/outputs and timing files. */
  workDir: string;
  /** Runs trtexec; the real one (execaRunner) by default, recorded output in tests. */
  runner?: CommandRunner;
  /** trtexec executable; 'trtexec' (from PATH) by default. */
  trtexec?: string;
  /** Builder workspace limit in MiB; trtexec's default (the whole GPU) when absent. */
  workspaceMiB?: number;
  /** Hardware / version compatibility of the plans (kiln.yaml `targets[].trt`). */
  trt?: TrtCompatibility;
  /** Build timeout; a first build without timing cache can take many minutes. */
  buildTimeoutMs?: number;
  /** Timeout of one golden or benchmark run. */
  runTimeoutMs?: number;
}

/** The sidecar next to the engine: input/output names and dtypes (a plan file alone does not say). */
export const IO_SUFFIX = '.io.json';
/** What TensorRT sessions' latency samples measure (EngineSession.measures). */
export const TRT_MEASURES =
  'TensorRT GPU compute time (trtexec --exportTimes computeMs, no host-device copies)';
/** trtexec's own default warm-up, in ms. */
const WARMUP_MS = 200;
const LOG_TAIL_LINES = 40;

export class TensorRtBackend implements Backend {
  readonly name = 'tensorrt';
  readonly engineExtension = 'plan';
  private readonly runner: CommandRunner;
  private readonly trtexec: string;
  private readonly reference = new OnnxRuntimeCpuBackend();

  constructor(private readonly options: TensorRtBackendOptions) {
    this.runner = options.runner ?? execaRunner();
    this.trtexec = options.trtexec ?? TRTEXEC;
  }

  async version(): Promise<string> {
    return (await this.options.fingerprint()).tensorrt;
  }

  /**
   * What a plan is tied to: the GPU (model and compute capability; only the compute capability
   * with hardware compatibility same-compute-capability, neither with ampere+, as TensorRT
   * documents), the MIG profile, the TensorRT version (and whether the plan is version-compatible).
   * The driver and its CUDA version are recorded as minimums, not keyed (hardware-match.ts).
   */
  async hardwareFingerprint(): Promise<Record<string, unknown>> {
    const fp = await this.options.fingerprint();
    const level = this.options.trt?.hardwareCompatibility ?? 'none';
    return {
      kind: 'gpu',
      ...(level === 'none' ? { gpu: fp.name } : {}),
      ...(level === 'ampere+' ? {} : { computeCapability: fp.computeCapability }),
      ...(level === 'none' ? {} : { hardwareCompatibility: level }),
      ...(fp.mig !== undefined ? { mig: fp.mig } : {}),
      tensorrt: fp.tensorrt,
      ...(this.options.trt?.versionCompatible ? { versionCompatible: true } : {}),
      driverMajor: fp.driverMajor,
      cuda: fp.cuda,
    };
  }

  /**
   * int8 is explicit quantization from a QDQ model: the model's own Q/DQ nodes, or kiln's from the
   * calibration data (TENSORRT_INT8_SCHEME; the data's hash is keyed as `calibration`). The
   * precision flags per version follow from the keyed TensorRT version (trtexec-args.ts).
   */
  compileOptions(precision: Precision): Record<string, unknown> {
    return {
      tool: 'trtexec',
      precision,
      ...(precision === 'int8' ? { int8: { quantization: 'explicit-qdq', kiln: TENSORRT_INT8_SCHEME } } : {}),
      ...(this.options.workspaceMiB !== undefined ? { workspaceMiB: this.options.workspaceMiB } : {}),
    };
  }

  supportedPrecisions(): readonly Precision[] {
    return ['fp32', 'fp16', 'int8'];
  }

  async compile(request: CompileRequest): Promise<CompiledEngine> {
    const fp = await this.options.fingerprint();
    const { model, bytes } = await loadOnnxModel(request.modelPath);
    const io = describeModel(model);
    assertTensorRtCanCheck(model, io.outputs, fp.tensorrt, request.modelPath);
    if (this.options.trt?.hardwareCompatibility === 'ampere+' && !trtAtLeast(fp.computeCapability, 8, 0)) {
      throw new InputError(
        `${request.modelPath}: trt.hardwareCompatibility ampere+ builds only on Ampere or later GPUs (compute capability 8.0+), this GPU ${fp.name} is ${fp.computeCapability}`,
      );
    }
    const dynamicInputs = new Set(
      io.inputs.filter((i) => i.unknownRank || i.dims.some((d) => typeof d !== 'number')).map((i) => i.name),
    );
    const fileName = `engine.${this.engineExtension}`;
    const enginePath = path.join(request.outDir, fileName);
    await mkdir(this.options.timingCacheDir, { recursive: true });
    const timingCacheFile = path.join(
      this.options.timingCacheDir,
      `trtexec-${smName(fp.computeCapability)}-trt${fp.tensorrt}.timing-cache`,
    );
    const int8 =
      request.precision === 'int8'
        ? await int8OnnxFile(request, model, bytes, this.options.workDir)
        : undefined;
    const what = `${request.modelPath}: TensorRT could not build profile '${request.profile.name}' (${request.precision})`;
    let log: string;
    try {
      const args = trtexecBuildArgs({
        modelPath: int8?.file ?? request.modelPath,
        enginePath,
        profile: request.profile,
        precision: request.precision,
        dynamicInputs,
        timingCacheFile,
        tensorrt: fp.tensorrt,
        ...(this.options.trt?.hardwareCompatibility !== undefined
          ? { hardwareCompatibility: this.options.trt.hardwareCompatibility }
          : {}),
        ...(this.options.trt?.versionCompatible ? { versionCompatible: true } : {}),
        ...(this.options.workspaceMiB !== undefined ? { workspaceMiB: this.options.workspaceMiB } : {}),
      });
      log = await this.exec(args, what, this.options.buildTimeoutMs ?? 60 * 60_000);
    } catch (error) {
      // A build that failed midway may leave a partial plan: nothing half-built stays in outDir.
      await rm(enginePath, { force: true });
      throw error;
    } finally {
      if (int8?.dir !== undefined) await rm(int8.dir, { recursive: true, force: true });
    }
    if (!(await isFile(enginePath))) {
      throw new InputError(`${what}: trtexec reported success but wrote no ${fileName}`, {
        cause: new Error(tail(log)),
      });
    }
    const sidecar: EngineIo = { inputs: io.inputs, outputs: io.outputs, tensorrt: fp.tensorrt };
    await writeFile(`${enginePath}${IO_SUFFIX}`, JSON.stringify(sidecar));
    const seconds = buildSeconds(log);
    // The banner is trtexec's compile-time NV_TENSORRT_VERSION, the probe's the loaded library.
    const banner = tensorrtVersionFromBanner(log);
    return {
      fileName,
      notes: [
        `trtexec, TensorRT ${fp.tensorrt} on ${smName(fp.computeCapability)}${seconds !== undefined ? `, built in ${seconds} s` : ''}; the plan runs only on this GPU and TensorRT version unless built hardware- or version-compatible (keyed).`,
        ...(banner !== undefined && banner !== fp.tensorrt
          ? [
              `trtexec was compiled against TensorRT ${banner} but loads libnvinfer ${fp.tensorrt}: the plan belongs to ${fp.tensorrt}`,
            ]
          : []),
        ...(narrowsInt64(fp.tensorrt) && io.inputs.concat(io.outputs).some((t) => t.dtype === 'int64')
          ? [
              `TensorRT ${fp.tensorrt} runs int64 inputs and outputs as int32 (values beyond int32 are refused)`,
            ]
          : []),
        ...(int8?.notes ?? []),
      ],
      ...(int8?.calibration ? { calibration: int8.calibration } : {}),
    };
  }

  async openEngine(enginePath: string, _options: SessionOptions): Promise<EngineSession> {
    // trtexec has no intra-op thread knob: the engine runs on the GPU, one stream.
    const io = await readIo(enginePath);
    // A sidecar from before kiln recorded the version: the plan only loads on this host's version anyway.
    const narrow = narrowsInt64(io.tensorrt ?? (await this.options.fingerprint()).tensorrt);
    const dtypes: Record<string, TensorDtype> = Object.fromEntries(
      io.outputs.filter((o) => isTensorDtype(o.dtype)).map((o) => [o.name, o.dtype as TensorDtype]),
    );
    const session: EngineSession = {
      measures: TRT_MEASURES,
      inputNames: io.inputs.map((i) => i.name),
      outputNames: io.outputs.map((o) => o.name),
      run: (inputs) =>
        this.withInputs(inputs, narrow, async (dir, inputFiles) => {
          const outputPath = path.join(dir, 'output.json');
          const args = trtexecGoldenArgs({ enginePath, shapes: shapesOf(inputs), inputFiles, outputPath });
          await this.exec(
            args,
            `${enginePath}: TensorRT run failed`,
            this.options.runTimeoutMs ?? 10 * 60_000,
          );
          return parseExportOutput(await readFile(outputPath, 'utf8'), outputPath, dtypes);
        }),
      benchmark: (inputs, settings) => this.benchmark(enginePath, inputs, settings, narrow),
      timedBlock: (inputs, iterations) => this.timedBlock(enginePath, inputs, iterations, narrow),
      bind: (inputs) => () =>
        this.benchmark(enginePath, inputs, { warmup: 0, minSamples: 1, maxSamples: 1, budgetMs: 0 }, narrow),
      release: async () => {},
    };
    return session;
  }

  async openReference(modelPath: string, options: SessionOptions): Promise<EngineSession> {
    return this.reference.openReference(modelPath, options);
  }

  /**
   * Per-iteration latencies from trtexec's `--exportTimes`: at least `minSamples` iterations and at
   * least `budgetMs` (whole seconds) of timing after trtexec's 200 ms warm-up; the last
   * `maxSamples` are kept. kiln's `warmup` run count has no trtexec equivalent (its warm-up is
   * time-based), so it is covered by the 200 ms warm-up.
   */
  private async benchmark(
    enginePath: string,
    inputs: Record<string, HostTensor>,
    settings: BenchmarkSettings,
    narrowInt64: boolean,
  ): Promise<number[]> {
    const latencies = await this.exportedTimes(enginePath, inputs, narrowInt64, {
      warmUpMs: settings.warmup > 0 ? WARMUP_MS : 0,
      iterations: Math.max(1, settings.minSamples),
      durationS: Math.max(0, Math.floor(settings.budgetMs / 1000)),
    });
    return latencies.slice(-Math.max(1, settings.maxSamples));
  }

  /**
   * One A/B block: one trtexec process (CUDA context, engine load, 200 ms warm-up) running exactly
   * `iterations` timed inferences, returning their GPU compute times (`computeMs`) from
   * `--exportTimes`, warm-up inferences dropped as trtexec's own summary drops them.
   */
  private async timedBlock(
    enginePath: string,
    inputs: Record<string, HostTensor>,
    iterations: number,
    narrowInt64: boolean,
  ): Promise<number[]> {
    return this.exportedTimes(enginePath, inputs, narrowInt64, {
      warmUpMs: WARMUP_MS,
      iterations,
      durationS: 0,
      field: 'computeMs',
    });
  }

  /** One timing trtexec process and the per-inference times its `--exportTimes` file holds. */
  private async exportedTimes(
    enginePath: string,
    inputs: Record<string, HostTensor>,
    narrowInt64: boolean,
    run: { warmUpMs: number; iterations: number; durationS: number; field?: 'computeMs' },
  ): Promise<number[]> {
    return this.withInputs(inputs, narrowInt64, async (dir, inputFiles) => {
      const timesPath = path.join(dir, 'times.json');
      const args = trtexecBenchArgs({
        enginePath,
        shapes: shapesOf(inputs),
        inputFiles,
        warmUpMs: run.warmUpMs,
        iterations: run.iterations,
        durationS: run.durationS,
        timesPath,
      });
      await this.exec(
        args,
        `${enginePath}: TensorRT benchmark failed`,
        this.options.runTimeoutMs ?? 10 * 60_000,
      );
      const text = await readFile(timesPath, 'utf8');
      return parseExportTimes(text, timesPath, {
        warmUpMs: run.warmUpMs,
        ...(run.field ? { field: run.field } : {}),
      });
    });
  }

  private async withInputs<T>(
    inputs: Record<string, HostTensor>,
    narrowInt64: boolean,
    use: (dir: string, inputFiles: Record<string, string>) => Promise<T>,
  ): Promise<T> {
    await mkdir(this.options.workDir, { recursive: true });
    const dir = await mkdtemp(path.join(this.options.workDir, 'trtexec-'));
    try {
      const inputFiles: Record<string, string> = {};
      for (const [i, [name, tensor]] of Object.entries(inputs).entries()) {
        // Files are named by position: tensor names may hold characters no path should.
        const file = path.join(dir, `input-${i}.bin`);
        await writeFile(file, engineInputBytes(name, tensor, narrowInt64));
        inputFiles[name] = file;
      }
      return await use(dir, inputFiles);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Runs trtexec; any failure becomes one InputError line, the log tail its cause. */
  private async exec(args: string[], what: string, timeoutMs: number): Promise<string> {
    const result = await this.runner.run(this.trtexec, args, { timeoutMs });
    if (isMissing(result)) {
      throw new InputError(
        `${what}: ${this.trtexec} not found on PATH (install TensorRT; run 'kiln-agent doctor' to see what is missing)`,
      );
    }
    const log = `${result.stdout}\n${result.stderr}`;
    if (result.timedOut) {
      throw new InputError(`${what}: trtexec did not finish within ${Math.round(timeoutMs / 1000)} s`, {
        cause: new Error(tail(log)),
      });
    }
    if (result.exitCode !== 0 || !trtexecPassed(log)) {
      throw new InputError(`${what}: ${explainTrtexecFailure(log).message}`, { cause: new Error(tail(log)) });
    }
    return log;
  }
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** The sidecar: the model's I/O and the TensorRT version that built the plan (8.6 narrows int64). */
interface EngineIo {
  inputs: IoSpec[];
  outputs: IoSpec[];
  tensorrt?: string;
}

async function readIo(enginePath: string): Promise<EngineIo> {
  const file = `${enginePath}${IO_SUFFIX}`;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(
      `${file}: missing (kiln writes it next to every TensorRT engine it builds): ${firstLine(error)}`,
      {
        cause: error,
      },
    );
  }
  const doc = JSON.parse(text) as { inputs?: IoSpec[]; outputs?: IoSpec[]; tensorrt?: unknown };
  if (!Array.isArray(doc.inputs) || !Array.isArray(doc.outputs)) {
    throw new InputError(`${file}: expected {inputs, outputs} lists`);
  }
  return {
    inputs: doc.inputs,
    outputs: doc.outputs,
    ...(typeof doc.tensorrt === 'string' ? { tensorrt: doc.tensorrt } : {}),
  };
}

function shapesOf(inputs: Record<string, HostTensor>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, t.shape]));
}

function tail(log: string): string {
  return log.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
}
