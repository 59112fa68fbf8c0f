import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../core/errors.js';
import type { BackendHost } from '../registry.js';
import type { GpuFingerprint } from '../tensorrt/tensorrt.js';
import { execaRunner } from './command-runner.js';
import { gpuFingerprint, probeHost } from './host-probe.js';

/**
 * The GPU backends' view of this host when kiln runs directly (not under kiln-agent): the GPU is
 * `KILN_GPU` (an nvidia-smi index, default 0, or the `GPU-…` UUID that kiln-agent run leases and
 * sets, with CUDA_VISIBLE_DEVICES pinning the child to that GPU), its fingerprint comes from
 * nvidia-smi and trtexec on first use, and caches live under `KILN_CACHE_DIR` or ~/.cache/kiln.
 */
export function defaultBackendHost(env: NodeJS.ProcessEnv = process.env): BackendHost {
  const raw = env.KILN_GPU ?? '0';
  const index = /^\d+$/.test(raw) ? Number(raw) : raw;
  const cacheDir = env.KILN_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'kiln');
  let fingerprint: Promise<GpuFingerprint> | undefined;
  return {
    gpuFingerprint: () => {
      fingerprint ??= probeHost(execaRunner()).then((probe) => {
        const gpu = gpuFingerprint(probe, index);
        // An engine keyed on an unknown CUDA or TensorRT version could be served to the wrong host.
        if (!gpu.cuda || !gpu.tensorrt) {
          throw new InputError(
            `GPU ${index}: ${gpu.cuda ? 'TensorRT' : 'CUDA'} version unknown on this host (run 'kiln-agent doctor')`,
          );
        }
        return {
          name: gpu.name,
          computeCapability: gpu.computeCapability,
          driverMajor: gpu.driverMajor,
          cuda: gpu.cuda,
          tensorrt: gpu.tensorrt,
          ...(gpu.mig !== undefined ? { mig: gpu.mig } : {}),
        };
      });
      return fingerprint;
    },
    cacheDir,
    workDir: path.join(os.tmpdir(), `kiln-work-${process.pid}`),
  };
}
