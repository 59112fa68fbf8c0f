import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

function info(name: string, dims: Array<number | string>): Onnx.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim } } } };
}

function encode(graph: Onnx.IGraphProto): Uint8Array {
  const proto = onnx.ModelProto.create({ irVersion: 7, opsetImport: [{ domain: '', version: 13 }], graph });
  return onnx.ModelProto.encode(proto).finish();
}

/** x float32 `dims` → one Identity output per name in `outputs` (names may hold any character). */
export function identityModel(dims: Array<number | string>, outputs: string[] = ['y']): Uint8Array {
  return encode({
    name: 'identity',
    input: [info('x', dims)],
    output: outputs.map((name) => info(name, dims)),
    node: outputs.map((name, i) => ({ opType: 'Identity', name: `id${i}`, input: ['x'], output: [name] })),
  });
}

/** x float32 [1,4] → y = x + W, with W [4] stored as external data at `location`. */
export function externalDataModel(location: string): Uint8Array {
  const weight: Onnx.ITensorProto = {
    name: 'W',
    dims: [4],
    dataType: FLOAT,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: '0' },
      { key: 'length', value: '16' },
    ],
  };
  return encode({
    name: 'external',
    input: [info('x', [1, 4])],
    output: [info('y', [1, 4])],
    initializer: [weight],
    node: [{ opType: 'Add', name: 'add', input: ['x', 'W'], output: ['y'] }],
  });
}
