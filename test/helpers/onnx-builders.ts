import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { SeededRandom } from '../../src/core/seeded-random.js';

const { FLOAT } = onnxProto.onnx.TensorProto.DataType;

/** Small builders for hand-written ONNX graphs in tests (float32 tensors, static shapes). */
export function onnxBuilders(seed: number) {
  const random = new SeededRandom(seed);
  return {
    floats: (n: number, spread = 1) => Array.from({ length: n }, () => (random.nextFloat() * 2 - 1) * spread),
    tensor: (name: string, dims: number[], values: number[]): Onnx.ITensorProto => ({
      name,
      dims,
      dataType: FLOAT,
      floatData: values,
    }),
    info: (name: string, dims: number[]) => ({
      name,
      type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((dimValue) => ({ dimValue })) } } },
    }),
    node: (opType: string, input: string[], output: string[], attribute: Onnx.IAttributeProto[] = []) => ({
      opType,
      name: `${opType}_${output[0]}`,
      input,
      output,
      attribute,
    }),
  };
}
