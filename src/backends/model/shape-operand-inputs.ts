/**
 * Graph inputs whose values are shapes, sizes or axes (a Reshape target fed as an input): random
 * numbers are never valid there, so synthetic golden inputs cannot exercise such a model.
 */
import type { onnx as Onnx } from 'onnx-proto';
import { InputError } from '../../core/errors.js';
import { realInputs } from './onnx-model.js';

/** Per op type (default domain), the operand positions that hold a shape, sizes, repeats or axes. */
const SHAPE_OPERANDS: Readonly<Record<string, readonly number[]>> = {
  Reshape: [1],
  Expand: [1],
  ConstantOfShape: [0],
  Tile: [1],
  Resize: [3],
  Squeeze: [1],
  Unsqueeze: [1],
  Slice: [1, 2, 3, 4],
  Pad: [1],
};

/** Each graph input used as a shape operand, with the first node that uses it so ("Reshape 'r1'"). */
export function shapeOperandInputs(model: Onnx.IModelProto): Map<string, string> {
  const graph = model.graph ?? {};
  const inputs = new Set(realInputs(graph).map((input) => input.name ?? ''));
  const found = new Map<string, string>();
  for (const node of graph.node ?? []) {
    if (node.domain && node.domain !== 'ai.onnx') continue;
    for (const position of SHAPE_OPERANDS[node.opType ?? ''] ?? []) {
      const name = node.input?.[position];
      if (name && inputs.has(name) && !found.has(name))
        found.set(name, `${node.opType} '${node.name ?? ''}'`);
    }
  }
  return found;
}

/**
 * Refuses synthetic golden inputs for a model with a shape-operand input (other than those in
 * `given`, whose values the manifest lists), before any compile: the reference run would fail (or
 * pass on a meaningless shape) only after minutes of work.
 * @throws InputError naming the model file, the input, its use and the fix.
 */
export function assertNoShapeOperandInputs(
  model: Onnx.IModelProto,
  file: string,
  goldenKey: string,
  given: readonly string[] = [],
): void {
  const [first] = [...shapeOperandInputs(model)].filter(([name]) => !given.includes(name));
  if (!first) return;
  const [name, use] = first;
  throw new InputError(
    `${file}: model input '${name}' is the shape operand of ${use}, which random values cannot fill: supply real golden inputs with ${goldenKey} (or list its values in the preprocessing manifest)`,
  );
}
