/**
 * What `kiln-agent doctor` needs to know about onnxruntime-node's GPU execution providers: for the
 * CUDA and TensorRT EPs, whether the provider library is next to the binding and whether a real
 * one-node session can be created on it. A library on disk proves little (no CUDA runtime, no
 * cuDNN, no driver), so the session decides; the file check only picks the fix.
 */
import ort from 'onnxruntime-node';
import type { Availability } from '../tensorrt/tensorrt.js';
import { detectOrtGpuLibrary, ortBindingDir, probeOrtGpu, type OrtGpuProvider } from './onnxruntime-gpu.js';

/** One EP: is its library installed, and did a session on it open. */
export interface OrtGpuEpState {
  library: boolean;
  session: Availability;
}

/** The probe of both GPU EPs, with the binding's version for the doctor's lines. */
export interface OrtGpuProbe {
  ortVersion: string;
  cuda: OrtGpuEpState;
  tensorrt: OrtGpuEpState;
}

async function probeEp(provider: OrtGpuProvider, dir: string | undefined): Promise<OrtGpuEpState> {
  const library = detectOrtGpuLibrary(provider, dir);
  // Without the library the session cannot open: skip loading it and keep the library's reason.
  if (!library.available) return { library: false, session: library };
  return { library: true, session: await probeOrtGpu(provider) };
}

/**
 * Probes the CUDA and TensorRT EPs of the onnxruntime-node this kiln loads, each with a real
 * one-node session (`tinyProbeModel`). Never throws: a failure is the EP's reason.
 */
export async function probeOrtGpuEps(dir: string | undefined = ortBindingDir()): Promise<OrtGpuProbe> {
  return {
    ortVersion: ort.env.versions.common,
    cuda: await probeEp('cuda', dir),
    tensorrt: await probeEp('tensorrt', dir),
  };
}
