import { InputError } from '../core/errors.js';
import type { Backend } from './backend.js';
import { OnnxRuntimeCpuBackend } from './onnxruntime-cpu.js';

/** Backends this build of kiln can run on this host, by config name. */
export function createBackend(name: string, where: string): Backend {
  switch (name) {
    case 'onnxruntime-cpu':
      return new OnnxRuntimeCpuBackend();
    default:
      throw new InputError(
        `${where}: backend '${name}' cannot run on this host (run 'kiln-agent doctor' to see what is missing)`,
      );
  }
}

/** Whether a target's backend can run here, for choosing default targets without failing. */
export function canRunHere(name: string): boolean {
  return name === 'onnxruntime-cpu';
}
