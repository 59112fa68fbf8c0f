/**
 * The `onnxruntime-gpu` line of `kiln-agent doctor`, from a real session probe of onnxruntime-node's
 * CUDA and TensorRT execution providers (src/backends/onnxruntime/ort-gpu-probe.ts). Pure: the probe is given.
 */
import path from 'node:path';
import type { HostProbe } from '../../src/backends/host/host-probe.js';
import type { OrtGpuProbe } from '../../src/backends/onnxruntime/ort-gpu-probe.js';
import type { Finding } from './doctor.js';

/**
 * The environment onnxruntime-node's install script reads (script/install-utils.js,
 * parseInstallFlag): any value other than `skip` runs the download; on linux/x64 the manifest it
 * installs is `cuda12` (script/install-metadata.js: libonnxruntime_providers_cuda.so,
 * _shared.so and _tensorrt.so from the Microsoft.ML.OnnxRuntime.Gpu.Linux NuGet package).
 */
export const ORT_GPU_INSTALL_ENV = 'ONNXRUNTIME_NODE_INSTALL=cuda12';

/** The only platform the install script has GPU EPs for (install-metadata.js `requirements`). */
const GPU_EP_PLATFORM = 'linux/x64';

const CUDA_EP_REQUIREMENTS =
  'https://onnxruntime.ai/docs/execution-providers/CUDA-ExecutionProvider.html#requirements';

/**
 * The command that adds the GPU EPs to the onnxruntime-node in `packageDir`: the install script
 * run by node itself, because npm may skip or deny a dependency's install script (kiln's own
 * package.json denies this one with allowScripts).
 */
export function ortGpuInstallCommand(packageDir: string | null | undefined): string {
  return `${ORT_GPU_INSTALL_ENV} node "${path.join(packageDir ?? '<onnxruntime-node>', 'script', 'install.js')}"`;
}

/** One finding for the onnxruntime-gpu backend: ok only when a CUDA EP session really opened. */
export function ortGpuFinding(probe: HostProbe, ort: OrtGpuProbe, packageDir?: string | null): Finding {
  const backend = 'onnxruntime-gpu';
  const version = `onnxruntime-node ${ort.ortVersion}`;
  const gpuUsable = probe.tools.nvidiaSmi === 'ok' && probe.gpus.length > 0;
  const platform = `${probe.os.platform}/${probe.cpu.arch}`;
  if (!ort.cuda.library) {
    if (platform !== GPU_EP_PLATFORM) {
      return {
        backend,
        status: 'missing',
        problem: `${version} has no GPU execution providers for ${platform}`,
        fix: `run GPU builds on a ${GPU_EP_PLATFORM} runner: onnxruntime-node's install script has CUDA/TensorRT EPs only for ${GPU_EP_PLATFORM}`,
      };
    }
    return {
      backend,
      status: 'missing',
      problem: `${version} has no CUDA EP (libonnxruntime_providers_cuda.so): its install script, which downloads the CUDA and TensorRT EPs from NuGet, did not run (kiln's install skips it, docs/install.md)`,
      fix: `${ortGpuInstallCommand(packageDir)} (downloads several hundred MB from api.nuget.org; the EPs need CUDA 12 and cuDNN 9, ${CUDA_EP_REQUIREMENTS})`,
    };
  }
  if (!ort.cuda.session.available) {
    const problem = `the CUDA EP is installed but a session on it fails: ${ort.cuda.session.reason}`;
    if (!gpuUsable) return { backend, status: 'missing', problem, fix: 'fix the GPU driver first' };
    return {
      backend,
      status: 'missing',
      problem,
      fix: `install the CUDA 12 runtime, cuBLAS and cuDNN 9 libraries ${version}'s CUDA EP links against and add their folder to LD_LIBRARY_PATH in the runner's .env (${CUDA_EP_REQUIREMENTS})`,
    };
  }
  // kiln never runs the TensorRT EP (see OnnxRuntimeGpuOptions.provider); say so when it is there.
  const trt = ort.tensorrt.session.available
    ? '; the TensorRT EP opens too but kiln does not use it (the Node binding gives it no engine cache or precision; the tensorrt backend builds TensorRT engines)'
    : '';
  return {
    backend,
    status: 'ok',
    problem: `a CUDA EP session opened (${version}): onnxruntime-gpu runs on the CUDA EP${trt}`,
    fix: '',
  };
}
