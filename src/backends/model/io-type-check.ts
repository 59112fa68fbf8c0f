/** Refusing, by name, graph inputs and outputs whose type kiln cannot feed, read back or compare. */
import { InputError } from '../../core/errors.js';
import { isTensorDtype } from '../../core/tensor.js';
import type { IoSpec, ModelDescription } from './onnx-model.js';

// Why each unsupported type is refused, and what the user can do instead.
const REASONS: Record<string, string> = {
  sequence:
    'ONNX sequence values (e.g. a classifier ZipMap output, a sequence of maps) are not dense tensors kiln can compare; export without them (skl2onnx: options={"zipmap": False})',
  map: 'ONNX map values are not dense tensors kiln can compare; export the scores as a tensor instead',
  optional: 'ONNX optional values are not supported; export the tensor itself',
  string:
    'string tensors cannot be synthesized, stored as .npy or compared numerically; tokenize outside the model',
  bfloat16:
    'onnxruntime-node has no bfloat16 tensors, so kiln cannot feed or read them; Cast to float16 or float32 at the graph boundary',
};

function refusal(kind: 'input' | 'output', io: IoSpec): string | undefined {
  if (isTensorDtype(io.dtype)) return undefined;
  const reason =
    REASONS[io.dtype] ?? `kiln handles tensors of bool, float16, float32, float64 and (u)int8/16/32/64 only`;
  return `model ${kind} '${io.name}' is of type ${io.dtype}: ${reason}`;
}

/**
 * Refuses a model with any graph input or output kiln cannot handle end to end, before anything is
 * compiled: the first one, in one line naming the file, the input/output and its type.
 * @throws InputError
 */
export function assertSupportedIo(description: ModelDescription, file: string): void {
  for (const input of description.inputs) {
    const problem = refusal('input', input);
    if (problem) throw new InputError(`${file}: ${problem}`);
  }
  for (const output of description.outputs) {
    const problem = refusal('output', output);
    if (problem) throw new InputError(`${file}: ${problem}`);
  }
}
