/** Pinning dynamic input dims so ONNX Runtime compiles a fully static graph. */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { describeModel, realInputs } from './onnx-model.js';
import { checkProfileShapes, type ProfileShapes } from './profile-shape-check.js';

const { onnx } = onnxProto;

function fixedDims(shape: ProfileShapes[string], old: Onnx.ITensorShapeProto | null | undefined) {
  return {
    dim: shape.map((value, index) => (value === null ? (old?.dim?.[index] ?? {}) : { dimValue: value })),
  };
}

// Symbols bound by the inputs become sizes; in value_info the others are dropped to unknown so ORT
// re-infers them from the now-static inputs instead of trusting an exporter's guess.
function substitute(infos: Onnx.IValueInfoProto[], symbols: Map<string, number>, keepUnbound: boolean) {
  return infos.map((info) => {
    const tensor = info.type?.tensorType;
    const dims = tensor?.shape?.dim;
    if (!tensor || !dims?.some((dim) => dim.dimParam)) return info;
    const dim = dims.map((d) => {
      if (!d.dimParam) return d;
      const value = symbols.get(d.dimParam);
      if (value !== undefined) return { dimValue: value, denotation: d.denotation };
      return keepUnbound ? d : { denotation: d.denotation };
    });
    return { ...info, type: { ...info.type, tensorType: { ...tensor, shape: { dim } } } };
  });
}

/**
 * Encodes a copy of the model with every input dim fixed to the profile's shape, so ONNX Runtime sees
 * a fully static graph (and refuses any other shape). A `null` dim keeps the model's own dim, for
 * backends that serve a range. The model object itself is left untouched.
 *
 * value_info entries and outputs that use a symbol bound by an input get that size; other symbols
 * are cleared in value_info (ORT re-infers them) but kept on outputs, which document the interface.
 * @throws InputError (prefixed with `where`) when the shapes do not fit the model's inputs.
 */
export function pinInputShapes(
  model: Onnx.IModelProto,
  shapes: ProfileShapes,
  where = 'profile shapes',
): Uint8Array {
  const graph = model.graph ?? {};
  const symbols = checkProfileShapes(describeModel(model).inputs, shapes, where);
  const real = new Set(realInputs(graph));
  const input = (graph.input ?? []).map((info) => {
    const shape = shapes[info.name ?? ''];
    const type = info.type;
    if (!real.has(info) || shape === undefined || !type) return info;
    // Only tensor-like inputs have a shape to pin; sequences and maps pass through.
    const key = type.tensorType ? 'tensorType' : type.sparseTensorType ? 'sparseTensorType' : undefined;
    const tensor = key && type[key];
    if (!key || !tensor) return info;
    return { ...info, type: { ...type, [key]: { ...tensor, shape: fixedDims(shape, tensor.shape) } } };
  });
  // Shallow copies all the way down to the replaced fields: weights are shared, never copied or changed.
  const pinned = onnx.ModelProto.create({
    ...model,
    graph: onnx.GraphProto.create({
      ...graph,
      input,
      output: substitute(graph.output ?? [], symbols, true),
      valueInfo: substitute(graph.valueInfo ?? [], symbols, false),
    }),
  });
  return onnx.ModelProto.encode(pinned).finish();
}
