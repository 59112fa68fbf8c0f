/**
 * What `kiln-agent doctor` needs to know about onnxruntime-node's GPU execution providers: for the
 * CUDA and TensorRT EPs, whether the provider library is next to the binding and whether a real
 * one-node session can be created on it. A library on disk proves little (no CUDA runtime, no
 * cuDNN, no driver), so the session decides; the file check only picks the fix.
 */
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { firstLine } from '../../core/errors.js';
import type { Availability } from '../tensorrt/tensorrt.js';
import { detectOrtGpuLibrary, ortBindingDir, type OrtGpuProvider } from './onnxruntime-gpu.js';

const { onnx } = onnxProto;

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
