import { InputError } from '../core/errors.js';
import type { Backend } from './backend.js';
import { backendAvailability } from './backend-availability.js';
import { OnnxRuntimeGpuBackend } from './onnxruntime/onnxruntime-gpu.js';
import { OnnxRuntimeCpuBackend } from './onnxruntime/onnxruntime-cpu.js';
import type { GpuFingerprint, TrtCompatibility } from './tensorrt/tensorrt.js';

export { backendAvailability } from './backend-availability.js';

/** What GPU backends need from the host (the agent's probe and folders); backends import only core. */
export interface BackendHost {
  gpuFingerprint: () => Promise<GpuFingerprint>;
  /** Host cache (timing caches, tuning records). */
  cacheDir: string;
  /** Scratch folder for tool inputs/outputs. */
  workDir: string;
}

/**
 * Backends this build of kiln can run on this host, by config name. `trt` is the target's TensorRT
 * section (plan portability); a host-side backend (verify, deploy) is created without it. Async
 * because the TensorRT backend and the default host (trtexec and nvidia-smi through execa) are
 * loaded only when asked for: a CPU build, and every cache hit, loads neither.
 */
export async function createBackend(
  name: string,
  where: string,
  host?: BackendHost,
  trt?: TrtCompatibility,
): Promise<Backend> {
  const availability = backendAvailability(name);
  if (!availability.available) {
    throw new InputError(
      `${where}: backend '${name}' cannot run on this host: ${availability.reason} (run 'kiln-agent doctor' to see what is missing)`,
    );
  }
  switch (name) {
    case 'onnxruntime-cpu':
      return new OnnxRuntimeCpuBackend();
    case 'tensorrt': {
      const gpuHost = host ?? (await defaultHost());
      const { TensorRtBackend } = await import('./tensorrt/tensorrt.js');
      return new TensorRtBackend({
        fingerprint: gpuHost.gpuFingerprint,
        timingCacheDir: gpuHost.cacheDir,
        workDir: gpuHost.workDir,
        ...(trt !== undefined ? { trt } : {}),
      });
    }
    case 'onnxruntime-gpu': {
      const gpuHost = host ?? (await defaultHost());
      return new OnnxRuntimeGpuBackend({ provider: 'cuda', fingerprint: gpuHost.gpuFingerprint });
    }
    default:
      throw new InputError(
        `${where}: backend '${name}' cannot run on this host (run 'kiln-agent doctor' to see what is missing)`,
      );
  }
}

async function defaultHost(): Promise<BackendHost> {
  return (await import('./host/default-host.js')).defaultBackendHost();
}

/** Whether a target's backend can run here, for choosing default targets without failing. */
export function canRunHere(name: string): boolean {
  return backendAvailability(name).available;
}
