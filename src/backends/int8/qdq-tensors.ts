/**
 * The values side of QDQ quantization: decoding constant tensors and turning float values into the
 * integers and scales the Q/DQ nodes carry. Pure; the graph side is qdq-plan.ts and qdq-emit.ts.
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import type { ActivationType } from './calibration.js';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;

type Tensor = Onnx.ITensorProto;

/** Decodes a copy whose Constant nodes have become initializers, so weights have one form. */
export function prepareModel(source: Onnx.IModelProto | Uint8Array): Onnx.ModelProto {
  const bytes = source instanceof Uint8Array ? source : onnx.ModelProto.encode(source).finish();
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph ?? onnx.GraphProto.create();
  const initializers = [...(graph.initializer ?? [])];
  graph.node = (graph.node ?? []).filter((node) => {
    const value = node.attribute?.find((a) => a.name === 'value' && a.t);
    if (node.opType !== 'Constant' || (node.domain ?? '') !== '' || !value?.t || node.output?.length !== 1) {
      return true;
    }
    initializers.push(onnx.TensorProto.create({ ...value.t, name: node.output[0] }));
    return false;
  });
  graph.initializer = initializers;
  model.graph = graph;
  return model;
}

/** Float32 values of a constant tensor, or undefined for other dtypes and external data. */
export function floatValues(tensor: Tensor): Float32Array | undefined {
  if (tensor.dataType !== DT.FLOAT || tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    return undefined;
  }
  if (tensor.rawData && tensor.rawData.length > 0)
    return new Float32Array(Uint8Array.from(tensor.rawData).buffer);
  return Float32Array.from(tensor.floatData ?? []);
}

/** The dimensions of a constant tensor as numbers. */
export const dimsOf = (tensor: Tensor): number[] => (tensor.dims ?? []).map(Number);

/**
 * Symmetric int8 weights: per channel along `axis` (one scale per slice) or per tensor. An all-zero
 * channel gets scale 1 so dequantization never divides by zero.
 */
export function quantizeWeight(
  values: Float32Array,
  dims: readonly number[],
  axis: number | undefined,
  qmax = 127,
): { q: Int8Array; scales: Float32Array } {
  const channels = axis === undefined ? 1 : (dims[axis] ?? 1);
  const inner = axis === undefined ? values.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number) => (axis === undefined ? 0 : Math.floor(i / inner) % channels);
  const amax = new Float64Array(channels);
  values.forEach((v, i) => {
    const c = channelOf(i);
    amax[c] = Math.max(amax[c] as number, Math.abs(v));
  });
  const scales = Float32Array.from(amax, (a) => (a > 0 ? a / qmax : 1));
  const q = Int8Array.from(values, (v, i) =>
    clamp(Math.round(v / (scales[channelOf(i)] as number)), -qmax, qmax),
  );
  return { q, scales };
}

/** An int32 bias against input scale × weight scale (per channel, or one weight scale for all). */
export function quantizeBias(
  values: Float32Array,
  inputScale: number,
  weightScales: Float32Array,
): { q: Int32Array; scales: Float32Array } {
  const scales = Float32Array.from(
    values,
    (_, c) => inputScale * (weightScales[weightScales.length === 1 ? 0 : c] as number),
  );
  const q = Int32Array.from(values, (v, c) =>
    clamp(Math.round(v / (scales[c] as number)), -(2 ** 31), 2 ** 31 - 1),
  );
  return { q, scales };
}

/**
 * A float constant input of an activation op, per tensor in the activation type over its range
 * widened to include 0 (asymmetric uint8, or symmetric int8 with zero point 0).
 */
export function quantizeConstant(
  values: Float32Array,
  type: ActivationType,
): { q: Uint8Array | Int8Array; scale: number; zeroPoint: number } {
  const lo = Math.min(0, ...values);
  const hi = Math.max(0, ...values);
  const scale = type === 'uint8' ? (hi - lo) / 255 || 1 : Math.max(-lo, hi) / 127 || 1;
  const zeroPoint = type === 'uint8' ? Math.round(-lo / scale) : 0;
  const q = type === 'uint8' ? new Uint8Array(values.length) : new Int8Array(values.length);
  values.forEach(
    (v, i) =>
      (q[i] = clamp(
        Math.round(v / scale) + zeroPoint,
        type === 'uint8' ? 0 : -127,
        type === 'uint8' ? 255 : 127,
      )),
  );
  return { q, scale, zeroPoint };
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
