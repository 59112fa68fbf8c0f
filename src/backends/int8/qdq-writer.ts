/**
 * Writes new tensors and DequantizeLinear nodes into a graph being quantized, each name unique
 * against the graph's own and those written before.
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { uniqueNamer } from '../model/unique-names.js';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;

type Node = Onnx.INodeProto;
type Tensor = Onnx.ITensorProto;

/** A constant in its quantized form, with what DequantizeLinear needs to read it back. */
export interface QuantizedConstant {
  dataType: number;
  dims: number[];
  q: ArrayBufferView;
  scales: Float32Array;
  /** Dims of the scale and zero point: [] per tensor, [channels] per channel. */
  scaleDims: number[];
  zeroPointType: number;
  zeroPoints: ArrayBufferView;
  /** The per-channel axis of DequantizeLinear; undefined per tensor. */
  axis?: number;
}

export interface QdqWriter {
  /** The graph's initializers by name, as they were before any writing. */
  weights: ReadonlyMap<string, Tensor>;
  /** Initializers written so far. */
  added: Tensor[];
  /** DequantizeLinear nodes of constants, to run before every other node. */
  prologue: Node[];
  unique(base: string): string;
  constant(base: string, dataType: number, dims: number[], raw: ArrayBufferView): string;
  dq(input: string, scale: string, zeroPoint: string, output: string, axis?: number): Node;
  /** Writes `quantized` as the stand-in of `source` and returns the name of its dequantized copy. */
  dequantized(source: Tensor, quantized: QuantizedConstant): string;
}

/** A writer for `graph`, whose initializers are `weights`. */
export function qdqWriter(graph: Onnx.GraphProto, weights: ReadonlyMap<string, Tensor>): QdqWriter {
  const unique = uniqueNamer(graph);
  const added: Tensor[] = [];
  const prologue: Node[] = [];
  const constant = (base: string, dataType: number, dims: number[], raw: ArrayBufferView) => {
    const name = unique(base);
    const rawData = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength).slice();
    added.push(onnx.TensorProto.create({ name, dataType, dims, rawData }));
    return name;
  };
  const dq = (input: string, scale: string, zp: string, output: string, axis?: number): Node => ({
    opType: 'DequantizeLinear',
    name: unique(`${output}_node`),
    input: [input, scale, zp],
    output: [output],
    attribute:
      axis === undefined ? [] : [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: axis }],
  });
  const dequantized = (source: Tensor, c: QuantizedConstant) => {
    const q = constant(`${source.name}_quantized`, c.dataType, c.dims, c.q);
    const s = constant(`${source.name}_scale`, DT.FLOAT, c.scaleDims, c.scales);
    const z = constant(`${source.name}_zero_point`, c.zeroPointType, c.scaleDims, c.zeroPoints);
    const out = unique(`${source.name}_DequantizeLinear_Output`);
    prologue.push(dq(q, s, z, out, c.axis));
    return out;
  };
  return { weights, added, prologue, unique, constant, dq, dequantized };
}
