/**
 * An ONNX model's skeleton: everything planning reads (inputs, outputs, opsets, nodes and their
 * subgraphs, initializer names and external-data locations), walked from the protobuf wire format
 * with every tensor's bytes skipped. `describeModel`, `assertLoadableOps`, the shape-operand and
 * external-data checks give the same answers on it as on a full decode, at a few small reads.
 */
import { dirname } from 'node:path';
import type { onnx as Onnx } from 'onnx-proto';
import { openConfined } from '../core/confined-file.js';
import { firstLine, InputError } from '../core/errors.js';
import { checkExternalData } from './external-data-check.js';
import { implausibility, MAX_MODEL_BYTES } from './onnx-model.js';
import { fileSource, WIRE, WireReader, type ByteSource } from './protobuf-wire.js';

type Walk<T> = (reader: WireReader) => T;

/** Reads a message's fields, handing each known one to `fields[number]`; the rest are skipped. */
function fieldsOf(reader: WireReader, fields: Record<number, (wire: number) => void>): void {
  while (!reader.done()) {
    const { field, wire } = reader.tag();
    const read = fields[field];
    if (read) read(wire);
    else reader.skip(wire);
  }
}

const varint = (reader: WireReader, wire: number): number => {
  reader.expect(wire, WIRE.varint);
  return reader.varint();
};

const nested = <T>(reader: WireReader, wire: number, walk: Walk<T>): T => walk(reader.message(wire));

function tensor(reader: WireReader): Onnx.ITensorProto {
  const t: Onnx.ITensorProto = { externalData: [] };
  fieldsOf(reader, {
    8: (w) => (t.name = reader.string(w)),
    13: (w) => t.externalData!.push(nested(reader, w, entry)),
    14: (w) => (t.dataLocation = varint(reader, w)),
  });
  return t;
}

function entry(reader: WireReader): Onnx.IStringStringEntryProto {
  const e: Onnx.IStringStringEntryProto = {};
  fieldsOf(reader, { 1: (w) => (e.key = reader.string(w)), 2: (w) => (e.value = reader.string(w)) });
  return e;
}

function sparseTensor(reader: WireReader): Onnx.ISparseTensorProto {
  const s: Onnx.ISparseTensorProto = {};
  fieldsOf(reader, {
    1: (w) => (s.values = nested(reader, w, tensor)),
    2: (w) => (s.indices = nested(reader, w, tensor)),
  });
  return s;
}

function dimension(reader: WireReader): Onnx.TensorShapeProto.IDimension {
  const d: Onnx.TensorShapeProto.IDimension = {};
  fieldsOf(reader, {
    1: (w) => (d.dimValue = varint(reader, w)),
    2: (w) => (d.dimParam = reader.string(w)),
  });
  return d;
}

function tensorType(reader: WireReader): Onnx.TypeProto.ITensor {
  const t: Onnx.TypeProto.ITensor = {};
  fieldsOf(reader, {
    1: (w) => (t.elemType = varint(reader, w)),
    2: (w) => {
      const shape: Onnx.ITensorShapeProto = { dim: [] };
      const r = reader.message(w);
      fieldsOf(r, { 1: (dw) => shape.dim!.push(nested(r, dw, dimension)) });
      t.shape = shape;
    },
  });
  return t;
}

function type(reader: WireReader): Onnx.ITypeProto {
  const t: Onnx.ITypeProto = {};
  const present = (key: 'sequenceType' | 'mapType' | 'optionalType') => (w: number) => {
    reader.message(w);
    t[key] = {};
  };
  fieldsOf(reader, {
    1: (w) => (t.tensorType = nested(reader, w, tensorType)),
    4: present('sequenceType'),
    5: present('mapType'),
    8: (w) => (t.sparseTensorType = nested(reader, w, tensorType)),
    9: present('optionalType'),
  });
  return t;
}

function valueInfo(reader: WireReader): Onnx.IValueInfoProto {
  const v: Onnx.IValueInfoProto = {};
  fieldsOf(reader, { 1: (w) => (v.name = reader.string(w)), 2: (w) => (v.type = nested(reader, w, type)) });
  return v;
}

function attribute(reader: WireReader): Onnx.IAttributeProto {
  const a: Onnx.IAttributeProto = { tensors: [], graphs: [] };
  fieldsOf(reader, {
    1: (w) => (a.name = reader.string(w)),
    5: (w) => (a.t = nested(reader, w, tensor)),
    6: (w) => (a.g = nested(reader, w, graph)),
    10: (w) => a.tensors!.push(nested(reader, w, tensor)),
    11: (w) => a.graphs!.push(nested(reader, w, graph)),
  });
  return a;
}

function node(reader: WireReader): Onnx.INodeProto {
  const n: Onnx.INodeProto = { input: [], output: [], attribute: [] };
  fieldsOf(reader, {
    1: (w) => n.input!.push(reader.string(w)),
    2: (w) => n.output!.push(reader.string(w)),
    3: (w) => (n.name = reader.string(w)),
    4: (w) => (n.opType = reader.string(w)),
    5: (w) => n.attribute!.push(nested(reader, w, attribute)),
    7: (w) => (n.domain = reader.string(w)),
  });
  return n;
}

function graph(reader: WireReader): Onnx.IGraphProto {
  const g: Onnx.IGraphProto = { node: [], initializer: [], sparseInitializer: [], input: [], output: [] };
  fieldsOf(reader, {
    1: (w) => g.node!.push(nested(reader, w, node)),
    2: (w) => (g.name = reader.string(w)),
    5: (w) => g.initializer!.push(nested(reader, w, tensor)),
    11: (w) => g.input!.push(nested(reader, w, valueInfo)),
    12: (w) => g.output!.push(nested(reader, w, valueInfo)),
    15: (w) => g.sparseInitializer!.push(nested(reader, w, sparseTensor)),
  });
  return g;
}

function opset(reader: WireReader): Onnx.IOperatorSetIdProto {
  const o: Onnx.IOperatorSetIdProto = {};
  fieldsOf(reader, {
    1: (w) => (o.domain = reader.string(w)),
    2: (w) => (o.version = varint(reader, w)),
  });
  return o;
}

function fn(reader: WireReader): Onnx.IFunctionProto {
  const f: Onnx.IFunctionProto = { node: [] };
  fieldsOf(reader, {
    1: (w) => (f.name = reader.string(w)),
    7: (w) => f.node!.push(nested(reader, w, node)),
    10: (w) => (f.domain = reader.string(w)),
  });
  return f;
}

/** The skeleton of the ModelProto in `source` (tensor bytes skipped). @throws Error on bad wire data. */
export function walkModel(source: ByteSource): Onnx.IModelProto {
  const reader = new WireReader(source);
  const m: Onnx.IModelProto = { opsetImport: [], functions: [] };
  fieldsOf(reader, {
    1: (w) => (m.irVersion = varint(reader, w)),
    7: (w) => (m.graph = nested(reader, w, graph)),
    8: (w) => m.opsetImport!.push(nested(reader, w, opset)),
    25: (w) => m.functions!.push(nested(reader, w, fn)),
  });
  return m;
}

/**
 * Reads a model's skeleton through the same confined-file checks, plausibility checks and
 * external-data checks as `loadOnnxModel`, reading only the bytes outside its tensors' data.
 * @throws InputError when the file is missing, unreadable, outside `root` or not a plausible model.
 */
export async function loadModelSkeleton(path: string, root = dirname(path)): Promise<Onnx.IModelProto> {
  const { handle, size } = await openConfined(root, path, {
    what: 'model file',
    maxBytes: MAX_MODEL_BYTES,
    limitName: "protobuf's 2 GiB message limit",
  });
  let model: Onnx.IModelProto;
  try {
    model = walkModel(fileSource(handle.fd, size));
  } catch (error) {
    throw new InputError(`${path}: not a valid ONNX model (protobuf decode failed: ${firstLine(error)})`, {
      cause: error,
    });
  } finally {
    await handle.close();
  }
  const problem = implausibility(model);
  if (problem !== undefined) {
    throw new InputError(`${path}: not a valid ONNX model (${problem})`, {
      cause: new Error(`walked ${size} bytes but ${problem}`),
    });
  }
  await checkExternalData(model, path);
  return model;
}
