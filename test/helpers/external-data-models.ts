import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;

/** Where one initializer's bytes live: a file (relative to the model) and a byte offset in it. */
export interface Placement {
  location: string;
  offset: number;
}

function info(name: string, dims: Array<number | string>): Onnx.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim } } } };
}

function external(name: string, dims: number[], at: Placement): Onnx.ITensorProto {
  const length = dims.reduce((a, b) => a * b, 4);
  return {
    name,
    dims,
    dataType: FLOAT,
    dataLocation: EXTERNAL,
    externalData: [
      { key: 'location', value: at.location },
      { key: 'offset', value: String(at.offset) },
      { key: 'length', value: String(length) },
    ],
  };
}

/**
 * `model.onnx`: x float32 [N,4] → y = x·W + B, with W [4,4] and B [4] stored as external data where
 * `w` and `b` say (the files themselves are written by the caller, e.g. {@link writeWeightFile}).
 */
export function matMulAddModel(w: Placement, b: Placement): Uint8Array {
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'matmul-add-external',
      input: [info('x', ['N', 4])],
      output: [info('y', ['N', 4])],
      initializer: [external('W', [4, 4], w), external('B', [4], b)],
      node: [
        { opType: 'MatMul', name: 'mm', input: ['x', 'W'], output: ['xw'] },
        { opType: 'Add', name: 'add', input: ['xw', 'B'], output: ['y'] },
      ],
    },
  });
  return onnx.ModelProto.encode(proto).finish();
}

/** W = 0.25·(i+1) for i in 0..15, row-major, and B = [1, -1, 2, -2]: known values to check outputs by. */
export const WEIGHTS = Float32Array.from({ length: 16 }, (_, i) => 0.25 * (i + 1));
export const BIAS = Float32Array.of(1, -1, 2, -2);

/** y = x·W + B for one row of x, computed here rather than by ONNX Runtime. */
export function expectedRow(x: readonly number[]): number[] {
  return [0, 1, 2, 3].map((j) => x.reduce((sum, v, k) => sum + v * WEIGHTS[k * 4 + j]!, BIAS[j]!));
}

/** Writes `dir/location` holding each of `parts` ([offset, values]) at its offset, zeros between. */
export async function writeWeightFile(
  dir: string,
  location: string,
  parts: Array<[number, Float32Array]>,
): Promise<void> {
  const file = path.join(dir, location);
  await mkdir(path.dirname(file), { recursive: true });
  const bytes = Buffer.alloc(Math.max(...parts.map(([offset, values]) => offset + values.byteLength)));
  for (const [offset, values] of parts) {
    Buffer.from(values.buffer, values.byteOffset, values.byteLength).copy(bytes, offset);
  }
  await writeFile(file, bytes);
}
