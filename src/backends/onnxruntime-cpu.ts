import path from 'node:path';
import ort from 'onnxruntime-node';
import { InputError } from '../core/errors.js';
import type { Precision } from '../core/results.js';
import type { HostTensor } from '../core/tensor.js';
import type { Backend, CompiledEngine, CompileRequest, EngineSession, SessionOptions } from './backend.js';
import { probeCpuIsa } from './cpu-isa.js';
import { loadOnnxModel, pinInputShapes } from './onnx-model.js';
import { pinnedDims } from './profile-dims.js';

/** ORT's own warning level: its NCHWc notice is expected here and recorded as an engine note instead. */
const QUIET = 3;

/**
 * The embedded default backend: ONNX Runtime's CPU provider through onnxruntime-node. An engine is
 * the model with every dynamic dim pinned from the profile, all graph optimizations applied, saved
 * in ORT format (faster to load than .onnx, no re-optimization at session start).
 */
export class OnnxRuntimeCpuBackend implements Backend {
  readonly name = 'onnxruntime-cpu';
  readonly engineExtension = 'ort';

  async version(): Promise<string> {
    return ort.env.versions.node ?? ort.env.versions.common;
  }

  async hardwareFingerprint(): Promise<Record<string, unknown>> {
    const isa = probeCpuIsa();
    return { kind: 'cpu', arch: isa.arch, isa: isa.features };
  }

  compileOptions(precision: Precision): Record<string, unknown> {
    return { graphOptimizationLevel: 'all', format: 'ort', pinShapes: true, precision };
  }

  supportedPrecisions(): readonly Precision[] {
    return ['fp32'];
  }

  async compile(request: CompileRequest): Promise<CompiledEngine> {
    const { model } = await loadOnnxModel(request.modelPath);
    const pinned = pinInputShapes(model, pinnedDims(request.profile));
    const fileName = `engine.${this.engineExtension}`;
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(pinned, {
        graphOptimizationLevel: 'all',
        optimizedModelFilePath: path.join(request.outDir, fileName),
        intraOpNumThreads: 1,
        logSeverityLevel: QUIET,
      });
    } catch (error) {
      throw new InputError(
        `${request.modelPath}: ONNX Runtime could not compile profile '${request.profile.name}': ${firstLineOf(error)}`,
        { cause: error },
      );
    }
    await session.release();
    return {
      fileName,
      notes: ['ORT format, all graph optimizations; NCHWc layouts make it specific to this CPU ISA (keyed).'],
    };
  }

  async openEngine(enginePath: string, options: SessionOptions): Promise<EngineSession> {
    return openSession(enginePath, {
      ...sessionOptions(options),
      graphOptimizationLevel: 'all',
    });
  }

  async openReference(modelPath: string, options: SessionOptions): Promise<EngineSession> {
    return openSession(modelPath, { ...sessionOptions(options), graphOptimizationLevel: 'disabled' });
  }
}

function sessionOptions(options: SessionOptions): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: options.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: QUIET,
  };
}

async function openSession(
  file: string,
  options: ort.InferenceSession.SessionOptions,
): Promise<EngineSession> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, options);
  } catch (error) {
    throw new InputError(`${file}: ONNX Runtime could not load it: ${firstLineOf(error)}`, { cause: error });
  }
  const toOrt = (inputs: Record<string, HostTensor>) =>
    Object.fromEntries(
      Object.entries(inputs).map(([name, t]) => [name, new ort.Tensor(t.dtype, t.data, t.shape)]),
    );
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(inputs) {
      let outputs: ort.InferenceSession.OnnxValueMapType;
      try {
        outputs = await session.run(toOrt(inputs));
      } catch (error) {
        throw new InputError(`${file}: run failed: ${firstLineOf(error)}`, { cause: error });
      }
      return Object.fromEntries(
        Object.entries(outputs).map(([name, value]) => {
          const tensor = value as ort.Tensor;
          return [name, { dtype: tensor.type, shape: [...tensor.dims], data: tensor.data } as HostTensor];
        }),
      );
    },
    bind(inputs) {
      const feeds = toOrt(inputs);
      return () => session.run(feeds);
    },
    release: () => session.release(),
  };
}

function firstLineOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n', 1)[0] ?? '';
}
