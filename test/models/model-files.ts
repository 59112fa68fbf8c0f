/** Tiny hand-written ONNX graphs for the test/models suites: any element type, symbolic or rank-0 dims. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

const { onnx } = onnxProto;
export const { DataType } = onnx.TensorProto;

/** A fixed size, a symbolic dim name, or null for an unknown dim. */
export type DimSpec = number | string | null;

/** A tensor graph input/output of `elemType` (a TensorProto.DataType) and `dims`. */
export function tensorInfo(name: string, elemType: number, dims: DimSpec[]): Onnx.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : d === null ? {} : { dimParam: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

/** A node; `to` sets a Cast's target type. */
export function node(opType: string, input: string[], output: string[], to?: number): Onnx.INodeProto {
  const attribute =
    to === undefined ? [] : [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: to }];
  return { opType, name: `${opType}_${output[0]}`, input, output, attribute };
}

/**
 * Encodes `graph` as an opset-17 model (IR 8), plus any `extraOpsets` (custom domains), and writes it
 * to `dir/name`; returns the path.
 */
export async function writeModel(
  dir: string,
  name: string,
  graph: Onnx.IGraphProto,
  extraOpsets: Onnx.IOperatorSetIdProto[] = [],
): Promise<string> {
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'kiln-test-models',
    opsetImport: [{ domain: '', version: 17 }, ...extraOpsets],
    graph: { name: name.replace(/\W/g, '_'), ...graph },
  });
  const file = path.join(dir, name);
  await mkdir(dir, { recursive: true });
  await writeFile(file, onnx.ModelProto.encode(proto).finish());
  return file;
}
