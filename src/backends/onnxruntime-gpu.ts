/**
 * ONNX Runtime with the CUDA or TensorRT execution provider, where the host's onnxruntime-node
 * build has them. Detected, never assumed: onnxruntime-node lists 'cuda' and 'tensorrt' as
 * backends even when their provider libraries are absent (`bundled: false` on linux x64), and only
 * creating a session tells. The stock linux x64 package ships neither library; there, session
 * creation fails with "OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library".
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { ortLogSeverity } from './ort-log.js';
import { wrapOrtSession } from './ort-session.js';
import onnxProto from 'onnx-proto';
import { firstLine, InputError } from '../core/errors.js';
import type { Precision } from '../core/results.js';
import type { Backend, CompiledEngine, CompileRequest, EngineSession, SessionOptions } from './backend.js';
import { loadOnnxModel } from './onnx-model.js';
import { OnnxRuntimeCpuBackend } from './onnxruntime-cpu.js';
import { pinInputShapes } from './pin-input-shapes.js';
import { pinnedDims } from './profile-dims.js';
import type { Availability, GpuFingerprint } from './tensorrt.js';

const { onnx } = onnxProto;

export type OrtGpuProvider = 'cuda' | 'tensorrt';

/** The folder holding onnxruntime-node's native binding (and any provider libraries beside it). */
export function ortBindingDir(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    const bin = path.join(path.dirname(entry), '..', 'bin');
    for (const napi of readdirSync(bin).sort().reverse()) {
      const dir = path.join(bin, napi, process.platform, process.arch);
      if (existsSync(dir)) return dir;
    }
  } catch {
    // not installed the usual way
  }
  return undefined;
}

/** The provider library ORT loads for `provider` on this platform. */
export function providerLibraryName(
  provider: OrtGpuProvider,
  platform: NodeJS.Platform = process.platform,
): string {
  return platform === 'win32'
    ? `onnxruntime_providers_${provider}.dll`
    : `libonnxruntime_providers_${provider}.so`;
}

/**
 * Cheap, synchronous check (no session): is the provider library next to the binding? A present
 * library can still fail to load (no CUDA runtime, no driver): `probeOrtGpu` tells for sure.
 */
export function detectOrtGpuLibrary(
  provider: OrtGpuProvider,
  dir: string | undefined = ortBindingDir(),
): Availability {
  const lib = providerLibraryName(provider);
  if (dir === undefined)
    return { available: false, reason: 'onnxruntime-node is not installed where kiln can find it' };
  return existsSync(path.join(dir, lib))
    ? { available: true }
    : {
        available: false,
        reason: `onnxruntime-node has no ${provider === 'cuda' ? 'CUDA' : 'TensorRT'} EP (${lib} is not in ${dir})`,
      };
}

/** A one-node model (y = Identity(x), float [1]) for probing providers. */
export function tinyProbeModel(): Uint8Array {
  const tensorType = {
    tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 1 }] } },
  };
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'kiln-probe',
    graph: {
      name: 'probe',
      node: [{ opType: 'Identity', input: ['x'], output: ['y'] }],
      input: [{ name: 'x', type: tensorType }],
      output: [{ name: 'y', type: tensorType }],
    },
  }).finish();
}

/** Creates a tiny session on `provider` for real; the error's first line is the reason when it fails. */
export async function probeOrtGpu(provider: OrtGpuProvider): Promise<Availability> {
  try {
    const session = await ort.InferenceSession.create(tinyProbeModel(), {
      executionProviders: [provider],
      logSeverityLevel: 4,
    });
    await session.release();
    return { available: true };
  } catch (error) {
    return {
      available: false,
      reason: `onnxruntime-node ${ort.env.versions.common} has no usable ${provider} EP: ${firstLine(error)}`,
    };
  }
}

export interface TensorRtEpCache {
  /** Folder inside kiln's keyed artifact folder for the EP's serialized engines. */
  engineCacheDir: string;
  /** Host-cache folder for the EP's timing cache (shared across keys, as trtexec's is). */
  timingCacheDir: string;
  deviceId?: number;
}

/**
 * TensorRT EP provider options (names from ONNX Runtime's TensorRT EP documentation): the engine
 * cache goes into kiln's keyed folder instead of the EP's own working-directory default, so a
 * cached engine is stored, verified and evicted with the artifact that owns it.
 * Note: onnxruntime-node 1.30's typings declare only `deviceId` for 'tensorrt'; the other keys are
 * passed as provider options and could not be checked against a GPU build of the binding here.
 */
export function tensorRtEpOptions(cache: TensorRtEpCache): Record<string, string | number> {
  return {
    name: 'tensorrt',
    deviceId: cache.deviceId ?? 0,
    trt_engine_cache_enable: '1',
    trt_engine_cache_path: cache.engineCacheDir,
    trt_timing_cache_enable: '1',
    trt_timing_cache_path: cache.timingCacheDir,
  };
}

export interface OnnxRuntimeGpuOptions {
  provider: OrtGpuProvider;
  fingerprint: () => Promise<GpuFingerprint>;
  /** Host cache folder for the TensorRT EP's timing cache. */
  timingCacheDir: string;
}

/** Folder name, inside the artifact folder, of the TensorRT EP's engine cache. */
export const TRT_EP_CACHE_DIR = 'trt-ep-cache';

/**
 * The engine is the model with every dynamic dim pinned (saved as .onnx); with the TensorRT EP
 * the EP's serialized engine is built at compile time into `<outDir>/trt-ep-cache`, so it lands
 * in the keyed artifact folder and later sessions load it instead of rebuilding.
 */
export class OnnxRuntimeGpuBackend implements Backend {
  readonly name = 'onnxruntime-gpu';
  readonly engineExtension = 'onnx';
  private readonly reference = new OnnxRuntimeCpuBackend();

  constructor(private readonly options: OnnxRuntimeGpuOptions) {}

  async version(): Promise<string> {
    return ort.env.versions.node ?? ort.env.versions.common;
  }

  async hardwareFingerprint(): Promise<Record<string, unknown>> {
    const fp = await this.options.fingerprint();
    return {
      kind: 'gpu',
      provider: this.options.provider,
      gpu: fp.name,
      computeCapability: fp.computeCapability,
      driverMajor: fp.driverMajor,
      cuda: fp.cuda,
      ...(fp.mig !== undefined ? { mig: fp.mig } : {}),
      ...(this.options.provider === 'tensorrt' ? { tensorrt: fp.tensorrt } : {}),
    };
  }

  compileOptions(precision: Precision): Record<string, unknown> {
    return { provider: this.options.provider, pinShapes: true, precision };
  }

  supportedPrecisions(): readonly Precision[] {
    return ['fp32'];
  }

  private providers(dir: string): ort.InferenceSession.SessionOptions['executionProviders'] {
    if (this.options.provider === 'cuda') return ['cuda'];
    const options = tensorRtEpOptions({
      engineCacheDir: path.join(dir, TRT_EP_CACHE_DIR),
      timingCacheDir: this.options.timingCacheDir,
    });
    return [options as unknown as ort.InferenceSession.ExecutionProviderConfig];
  }

  async compile(request: CompileRequest): Promise<CompiledEngine> {
    const { model } = await loadOnnxModel(request.modelPath);
    const pinned = pinInputShapes(model, pinnedDims(request.profile));
    const fileName = `engine.${this.engineExtension}`;
    const enginePath = path.join(request.outDir, fileName);
    await writeFile(enginePath, pinned);
    if (this.options.provider === 'tensorrt') {
      await mkdir(path.join(request.outDir, TRT_EP_CACHE_DIR), { recursive: true });
      await mkdir(this.options.timingCacheDir, { recursive: true });
    }
    // Creating the session once makes the TensorRT EP build and cache its engine now.
    const session = await this.create(enginePath, { threads: 1 });
    await session.release();
    return {
      fileName,
      notes: [`ONNX Runtime ${this.options.provider} EP; shapes pinned from the profile.`],
    };
  }

  async openEngine(enginePath: string, options: SessionOptions): Promise<EngineSession> {
    const session = await this.create(enginePath, options);
    return this.wrap(enginePath, session);
  }

  async openReference(modelPath: string, options: SessionOptions): Promise<EngineSession> {
    return this.reference.openReference(modelPath, options);
  }

  private async create(file: string, options: SessionOptions): Promise<ort.InferenceSession> {
    try {
      return await ort.InferenceSession.create(file, {
        executionProviders: this.providers(path.dirname(file)),
        intraOpNumThreads: options.threads,
        graphOptimizationLevel: 'all',
        logSeverityLevel: ortLogSeverity(),
      });
    } catch (error) {
      throw new InputError(
        `${file}: ONNX Runtime (${this.options.provider} EP) could not load it: ${firstLine(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  private wrap(file: string, session: ort.InferenceSession): EngineSession {
    return wrapOrtSession(file, session);
  }
}
