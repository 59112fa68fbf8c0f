/**
 * Which outputs the golden suite fetches together. A segmentation net with a dozen full-resolution
 * outputs must not hold all of them, reference and engine side, at once: outputs are packed into
 * groups whose estimated size stays within a byte budget, and each group is one run of each session.
 */
import type { HostTensor } from '../core/tensor.js';
import { bytesPerElement, isTensorDtype } from '../core/tensor.js';
import type { IoSpec, ModelDescription } from '../backends/model/onnx-model.js';

/** Per side, the most output bytes the golden suite fetches in one run (unless one output is larger). */
export const GOLDEN_GROUP_BYTES = 16 * 1024 ** 2;

/**
 * The bytes of `output` at the sample's input shapes, or undefined when the model does not tell:
 * an unknown dim, or a symbolic dim no input shares (a data-dependent size such as NMS's box count).
 */
export function estimatedOutputBytes(
  output: IoSpec,
  inputs: readonly IoSpec[],
  sample: Readonly<Record<string, HostTensor>>,
): number | undefined {
  if (output.unknownRank || !isTensorDtype(output.dtype)) return undefined;
  const named = new Map<string, number>();
  for (const input of inputs) {
    const shape = sample[input.name]?.shape;
    input.dims.forEach((dim, d) => {
      if (typeof dim === 'string' && shape?.[d] !== undefined) named.set(dim, shape[d]);
    });
  }
  let elements = 1;
  for (const dim of output.dims) {
    const size = typeof dim === 'number' ? dim : dim === null ? undefined : named.get(dim);
    if (size === undefined) return undefined;
    elements *= size;
  }
  return elements * bytesPerElement(output.dtype);
}

/**
 * `names` (the reference's outputs, in order) packed greedily into groups of at most `budget`
 * estimated bytes. An output whose size is unknown or over the budget is fetched alone, so one run
 * never holds more than max(budget, the largest output) per session.
 */
export function outputGroups(
  names: readonly string[],
  sizeOf: (name: string) => number | undefined,
  budget = GOLDEN_GROUP_BYTES,
): string[][] {
  const groups: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  const flush = () => {
    if (current.length > 0) groups.push(current);
    current = [];
    bytes = 0;
  };
  // Groups keep the outputs' order, so records and reports list them as the model does.
  for (const name of names) {
    const size = sizeOf(name);
    if (size === undefined || size > budget) {
      flush();
      groups.push([name]);
      continue;
    }
    if (bytes + size > budget) flush();
    current.push(name);
    bytes += size;
  }
  flush();
  return groups;
}

/**
 * The output groups the golden suite fetches per run for one sample of a model, sized from its
 * declared output shapes at the sample's input shapes.
 */
export function goldenGroups(
  description: Pick<ModelDescription, 'inputs' | 'outputs'>,
  sample: Readonly<Record<string, HostTensor>>,
  names: readonly string[],
): string[][] {
  const specs = new Map(description.outputs.map((o) => [o.name, o]));
  return outputGroups(names, (name) => {
    const spec = specs.get(name);
    return spec ? estimatedOutputBytes(spec, description.inputs, sample) : undefined;
  });
}
