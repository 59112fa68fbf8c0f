/**
 * Whether a backend can run on this host, decided without loading any backend: registry.ts keeps
 * the backends' modules (execa, onnx-proto, onnxruntime-node) unloaded until one is created, so
 * that choosing targets and a cache-hit build pay for none of them.
 */
import { detectOrtGpuLibrary } from './onnxruntime/onnxruntime-gpu.js';
import { detectTensorRt, type Availability } from './tensorrt/trtexec-on-path.js';

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
