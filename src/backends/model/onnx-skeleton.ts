/**
 * An ONNX model's skeleton: everything planning reads (inputs, outputs, opsets, nodes and their
 * subgraphs, initializer names and external-data locations), walked from the protobuf wire format
 * with every tensor's bytes skipped. `describeModel`, `assertLoadableOps`, the shape-operand and
 * external-data checks give the same answers on it as on a full decode, at a few small reads.
 */
import { dirname } from 'node:path';
import type { onnx as Onnx } from 'onnx-proto';
import { openConfined } from '../../core/io/confined-file.js';
import { firstLine, InputError } from '../../core/errors.js';
import { checkExternalData } from './external-data-check.js';
import { implausibility, MAX_MODEL_BYTES } from './onnx-model.js';
import { fileSource, WireReader, type ByteSource } from './protobuf-wire.js';

// Each walker is a plain loop over the message's fields with a switch: the walk runs once per model
// in a short-lived process, mostly before the JIT has warmed up, so it avoids closures and objects.

function tensor(r: WireReader): Onnx.ITensorProto {
  const t: Onnx.ITensorProto = { externalData: [] };
  while (!r.done()) {
    const tag = r.tag();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 8:
        t.name = r.string(wire);
        break;
      case 13:
        t.externalData!.push(entry(r.message(wire)));
        break;
      case 14:
        t.dataLocation = r.varintField(wire);
        break;
      default:
        r.skip(wire);
    }
  }
  return t;
}

function entry(r: WireReader): Onnx.IStringStringEntryProto {
  const e: Onnx.IStringStringEntryProto = {};
  while (!r.done()) {
    const tag = r.tag();
    const wire = tag & 7;
    if (tag >>> 3 === 1) e.key = r.string(wire);
    else if (tag >>> 3 === 2) e.value = r.string(wire);
    else r.skip(wire);
  }
  return e;
}

function sparseTensor(r: WireReader): Onnx.ISparseTensorProto {
  const s: Onnx.ISparseTensorProto = {};
  while (!r.done()) {
    const tag = r.tag();
    const wire = tag & 7;
    if (tag >>> 3 === 1) s.values = tensor(r.message(wire));
    else if (tag >>> 3 === 2) s.indices = tensor(r.message(wire));
    else r.skip(wire);
  }
  return s;
}

function dimension(r: WireReader): Onnx.TensorShapeProto.IDimension {
  const d: Onnx.TensorShapeProto.IDimension = {};
  while (!r.done()) {
    const tag = r.tag();
    const wire = tag & 7;
    if (tag >>> 3 === 1) d.dimValue = r.varintField(wire);
    else if (tag >>> 3 === 2) d.dimParam = r.string(wire);
    else r.skip(wire);
  }
  return d;
}

function tensorType(r: WireReader): Onnx.TypeProto.ITensor {
  const t: Onnx.TypeProto.ITensor = {};
  while (!r.done()) {
    const tag = r.tag();
    const wire = tag & 7;
    if (tag >>> 3 === 1) t.elemType = r.varintField(wire);
    else if (tag >>> 3 === 2) {
      const shape: Onnx.ITensorShapeProto = { dim: [] };
      const s = r.message(wire);
      while (!s.done()) {
        const dimTag = s.tag();
        if (dimTag >>> 3 === 1) shape.dim!.push(dimension(s.message(dimTag & 7)));
        else s.skip(dimTag & 7);
      }
      t.shape = shape;
    } else r.skip(wire);
  }
  return t;
}

function type(r: WireReader): Onnx.ITypeProto {
  const t: Onnx.ITypeProto = {};
  while (!r.done()) {
    const tag = r.tag();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1:
        t.tensorType = tensorType(r.message(wire));
        break;
      case 8:
        t.sparseTensorType = tensorType(r.message(wire));
        break;
      // Only their presence matters: kiln refuses such inputs by kind.
      case 4:
        r.message(wire);
        t.sequenceType = {};
        break;
      case 5:
        r.message(wire);
        t.mapType = {};
        break;
      case 9:
        r.message(wire);
        t.optionalType = {};
        break;
      default:
        r.skip(wire);
    }
  }
  return t;
}

function valueInfo(r: WireReader): Onnx.IValueInfoProto {
  const v: Onnx.IValueInfoProto = {};
  while (!r.done()) {
    const tag = r.tag();
    const wire = tag & 7;
    if (tag >>> 3 === 1) v.name = r.string(wire);
    else if (tag >>> 3 === 2) v.type = type(r.message(wire));
    else r.skip(wire);
  }
  return v;
}

function attribute(r: WireReader): Onnx.IAttributeProto {
  const a: Onnx.IAttributeProto = { tensors: [], graphs: [] };
  while (!r.done()) {
    const tag = r.tag();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1:
        a.name = r.string(wire);
        break;
      case 5:
        a.t = tensor(r.message(wire));
        break;
      case 6:
        a.g = graph(r.message(wire));
        break;
      case 10:
        a.tensors!.push(tensor(r.message(wire)));
        break;
      case 11:
        a.graphs!.push(graph(r.message(wire)));
        break;
      default:
        r.skip(wire);
    }
  }
  return a;
}

function node(r: WireReader): Onnx.INodeProto {
  const n: Onnx.INodeProto = { input: [], output: [], attribute: [] };
  while (!r.done()) {
    const tag = r.tag();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1:
        n.input!.push(r.string(wire));
        break;
      case 2:
        n.output!.push(r.string(wire));
        break;
      case 3:
        n.name = r.string(wire);
        break;
      case 4:
        n.opType = r.string(wire);
        break;
      case 5:
        n.attribute!.push(attribute(r.message(wire)));
        break;
      case 7:
        n.domain = r.string(wire);
        break;
      default:
        r.skip(wire);
    }
  }
  return n;
}

function graph(r: WireReader): Onnx.IGraphProto {
  const g: Onnx.IGraphProto = { node: [], initializer: [], sparseInitializer: [], input: [], output: [] };
  while (!r.done()) {
    const tag = r.tag();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1:
        g.node!.push(node(r.message(wire)));
        break;
      case 2:
        g.name = r.string(wire);
        break;
      case 5:
        g.initializer!.push(tensor(r.message(wire)));
        break;
      case 11:
        g.input!.push(valueInfo(r.message(wire)));
        break;
      case 12:
        g.output!.push(valueInfo(r.message(wire)));
        break;
      case 15:
        g.sparseInitializer!.push(sparseTensor(r.message(wire)));
        break;
      default:
        r.skip(wire);
    }
  }
  return g;
}

function opset(r: WireReader): Onnx.IOperatorSetIdProto {
  const o: Onnx.IOperatorSetIdProto = {};
  while (!r.done()) {
    const tag = r.tag();
    const wire = tag & 7;
    if (tag >>> 3 === 1) o.domain = r.string(wire);
    else if (tag >>> 3 === 2) o.version = r.varintField(wire);
    else r.skip(wire);
  }
  return o;
}

function fn(r: WireReader): Onnx.IFunctionProto {
  const f: Onnx.IFunctionProto = { node: [] };
  while (!r.done()) {
    const tag = r.tag();
    const wire = tag & 7;
    if (tag >>> 3 === 1) f.name = r.string(wire);
    else if (tag >>> 3 === 7) f.node!.push(node(r.message(wire)));
    else if (tag >>> 3 === 10) f.domain = r.string(wire);
    else r.skip(wire);
  }
  return f;
}

/** The skeleton of the ModelProto in `source` (tensor bytes skipped). @throws Error on bad wire data. */
export function walkModel(source: ByteSource): Onnx.IModelProto {
  const r = new WireReader(source);
  const m: Onnx.IModelProto = { opsetImport: [], functions: [] };
  while (!r.done()) {
    const tag = r.tag();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1:
        m.irVersion = r.varintField(wire);
        break;
      case 7:
        m.graph = graph(r.message(wire));
        break;
      case 8:
        m.opsetImport!.push(opset(r.message(wire)));
        break;
      case 25:
        m.functions!.push(fn(r.message(wire)));
        break;
      default:
        r.skip(wire);
    }
  }
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
