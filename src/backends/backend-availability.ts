/**
 * Whether a backend can run on this host, decided without loading any backend: registry.ts keeps
 * the backends' modules (execa, onnx-proto, onnxruntime-node) unloaded until one is created, so
 * that choosing targets and a cache-hit build pay for none of them.
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { detectOrtGpuLibrary } from './onnxruntime/onnxruntime-gpu.js';
import type { Availability } from './tensorrt/tensorrt.js';
import { TRTEXEC } from './tensorrt/trtexec-args.js';

/**
 * The first executable `name` on PATH, or undefined (cheap, synchronous, never throws). The same
 * lookup as tensorrt.ts's findExecutable, which cannot be imported here without loading execa.
 */
function onPath(name: string, pathEnv: string | undefined = process.env.PATH): string | undefined {
  for (const dir of (pathEnv ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
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
        return onPath(TRTEXEC)
          ? { available: true }
          : { available: false, reason: 'trtexec not on PATH (install TensorRT and add its bin/ to PATH)' };
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
