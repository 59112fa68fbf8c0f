import { InputError } from '../core/errors.js';
import type { Backend } from './backend.js';
import { detectOrtGpuLibrary, OnnxRuntimeGpuBackend } from './onnxruntime/onnxruntime-gpu.js';
import { OnnxRuntimeCpuBackend } from './onnxruntime/onnxruntime-cpu.js';
import type { Availability, GpuFingerprint, TrtCompatibility } from './tensorrt/tensorrt.js';
import { detectTensorRt, TensorRtBackend } from './tensorrt/tensorrt.js';
import { defaultBackendHost } from './host/default-host.js';

/** What GPU backends need from the host (the agent's probe and folders); backends import only core. */
export interface BackendHost {
  gpuFingerprint: () => Promise<GpuFingerprint>;
  /** Host cache (timing caches, tuning records). */
  cacheDir: string;
  /** Scratch folder for tool inputs/outputs. */
  workDir: string;
}

/**
 * Whether backend `name` can run here and, if not, what is missing. Cheap (PATH lookups and a file
 * check, no process or session) and never throws.
 */
export function backendAvailability(name: string): Availability {
  try {
    switch (name) {
      case 'onnxruntime-cpu':
        return { available: true };
      case 'tensorrt':
        return detectTensorRt();
      // The CUDA EP runs it (see OnnxRuntimeGpuOptions.provider): its library decides.
      case 'onnxruntime-gpu':
        return detectOrtGpuLibrary('cuda');
      default:
        return { available: false, reason: 'no such backend in this build of kiln' };
    }
  } catch (error) {
    return { available: false, reason: `detection failed: ${(error as Error).message}` };
  }
}

/**
 * Backends this build of kiln can run on this host, by config name. `trt` is the target's TensorRT
 * section (plan portability); a host-side backend (verify, deploy) is created without it.
 */
export function createBackend(
  name: string,
  where: string,
  host: BackendHost = defaultBackendHost(),
  trt?: TrtCompatibility,
): Backend {
  const availability = backendAvailability(name);
  if (!availability.available) {
    throw new InputError(
      `${where}: backend '${name}' cannot run on this host: ${availability.reason} (run 'kiln-agent doctor' to see what is missing)`,
    );
  }
  switch (name) {
    case 'onnxruntime-cpu':
      return new OnnxRuntimeCpuBackend();
    case 'tensorrt':
    case 'onnxruntime-gpu':
      if (name === 'tensorrt') {
        return new TensorRtBackend({
          fingerprint: host.gpuFingerprint,
          timingCacheDir: host.cacheDir,
          workDir: host.workDir,
          ...(trt !== undefined ? { trt } : {}),
        });
      }
      return new OnnxRuntimeGpuBackend({ provider: 'cuda', fingerprint: host.gpuFingerprint });
    default:
      throw new InputError(
        `${where}: backend '${name}' cannot run on this host (run 'kiln-agent doctor' to see what is missing)`,
      );
  }
}

/** Whether a target's backend can run here, for choosing default targets without failing. */
export function canRunHere(name: string): boolean {
  return backendAvailability(name).available;
}
