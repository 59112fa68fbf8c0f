/**
 * ONNX Runtime with the CUDA (or TensorRT) execution provider, where the host's onnxruntime-node
 * install has them. Detected, never assumed: onnxruntime-node lists 'cuda' and 'tensorrt' as
 * backends even when their provider libraries are absent (`bundled: false` on linux x64), and only
 * creating a session tells. The npm tarball ships neither library: on linux/x64 its postinstall
 * downloads both from NuGet (script/install-metadata.js, manifest `linux/x64:cuda12`), which kiln's
 * own install skips (docs/install.md); without them session creation fails with
 * "OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library".
 */
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { firstLine, InputError } from '../../core/errors.js';
import type { Precision } from '../../core/results.js';
import type { Backend, CompiledEngine, CompileRequest, EngineSession, SessionOptions } from '../backend.js';
import { copyExternalData } from '../model/external-data-copy.js';
import { loadOnnxModel } from '../model/onnx-model.js';
import { OnnxRuntimeCpuBackend } from './onnxruntime-cpu.js';
import { ortPackageVersion } from './ort-version.js';
import { pinnedDims } from '../model/profile-dims.js';
import type { Availability, GpuFingerprint } from '../tensorrt/tensorrt.js';

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

/**
 * What onnxruntime-node's binding passes to the CUDA and TensorRT EPs: the device id and nothing
 * else. ParseExecutionProviders in microsoft/onnxruntime js/node/src/session_options_helper.cc
 * (commit 7d9e681, as 1.2x/1.30 ship it) reads only `name` and `deviceId` from an EP object
 * (lines 65-70; `coreMlFlags` for coreml, a few webgpu/qnn keys), then for 'cuda' and 'tensorrt'
 * creates default V2 provider options and sets only `options->device_id` (lines 158-171). Every
 * other key (trt_engine_cache_*, trt_timing_cache_*, trt_fp16_enable, trt_max_workspace_size,
 * cudnn_conv_algo_search, ...) is silently ignored, so kiln passes none: a TensorRT EP session
 * built through this binding rebuilds its engine at every session and cannot use fp16.
 */
export function ortGpuEpOptions(
  provider: OrtGpuProvider,
  deviceId = 0,
): InferenceSession.ExecutionProviderConfig {
  return { name: provider, deviceId } as InferenceSession.ExecutionProviderConfig;
}

export interface OnnxRuntimeGpuOptions {
  /**
   * Always 'cuda' from the registry: the install script downloads the CUDA and TensorRT EP
   * libraries together, and through the Node binding the TensorRT EP gets no engine cache and no
   * precision option (see ortGpuEpOptions), so kiln's `tensorrt` backend (trtexec) is the TensorRT
   * path. 'tensorrt' stays selectable for callers that want the EP as the binding gives it.
   */
  provider: OrtGpuProvider;
  fingerprint: () => Promise<GpuFingerprint>;
}

/**
 * The engine is the model with every dynamic dim pinned (saved as .onnx); ONNX Runtime compiles
 * it for the GPU at every session creation (the binding cannot keep an EP engine cache).
 */
export class OnnxRuntimeGpuBackend implements Backend {
  readonly name = 'onnxruntime-gpu';
  readonly engineExtension = 'onnx';
  private readonly reference = new OnnxRuntimeCpuBackend();

  constructor(private readonly options: OnnxRuntimeGpuOptions) {}

  async version(): Promise<string> {
    return ortPackageVersion();
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

  async compile(request: CompileRequest): Promise<CompiledEngine> {
    const { model, externalFiles } = await loadOnnxModel(request.modelPath);
    // onnx-proto, like onnxruntime-node below, loads only when an engine is built or opened.
    const { pinInputShapes } = await import('../model/pin-input-shapes.js');
    const pinned = pinInputShapes(model, pinnedDims(request.profile));
    const fileName = `engine.${this.engineExtension}`;
    const enginePath = path.join(request.outDir, fileName);
    await writeFile(enginePath, pinned);
    // The .onnx engine references the model's external data by relative location: copy each file
    // beside it (copyFile: in the kernel, never the whole file in memory) so the artifact is whole.
    await copyExternalData(path.dirname(request.modelPath), externalFiles, request.outDir);
    // Creating the session once proves the EP takes the pinned model before anything is stored.
    const session = await this.create(enginePath, { threads: 1 });
    await session.release();
    return {
      fileName,
      notes: [`ONNX Runtime ${this.options.provider} EP; shapes pinned from the profile.`],
      ...(externalFiles.length > 0 ? { files: externalFiles } : {}),
    };
  }

  async openEngine(enginePath: string, options: SessionOptions): Promise<EngineSession> {
    const session = await this.create(enginePath, options);
    const { wrapOrtSession } = await import('./ort-session.js');
    // Host tensors in, host tensors out: the wall time includes the provider's copies to and from the GPU.
    return wrapOrtSession(
      enginePath,
      session,
      `ONNX Runtime ${this.options.provider} EP wall time per session.run (incl. host-device copies)`,
    );
  }

  async openReference(modelPath: string, options: SessionOptions): Promise<EngineSession> {
    return this.reference.openReference(modelPath, options);
  }

  private async create(file: string, options: SessionOptions): Promise<InferenceSession> {
    const { default: ort } = await import('onnxruntime-node');
    const { ortLogSeverity } = await import('./ort-log.js');
    try {
      return await ort.InferenceSession.create(file, {
        executionProviders: [ortGpuEpOptions(this.options.provider)],
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
}
