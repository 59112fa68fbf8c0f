/**
 * Reading ONNX model files and their input/output signatures, checking profile shapes against them,
 * and pinning dynamic input dims so ONNX Runtime compiles a fully static graph.
 */
import { readFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { firstLine, InputError } from '../core/errors.js';

const { onnx } = onnxProto;

/** One dim of a model input/output: fixed size, symbolic dimParam name, or unknown (neither set). */
export type Dim = number | string | null;

/** Name, ORT-node dtype string (float32, int64, bool, ...) and dims of a graph input or output. */
export interface IoSpec {
  name: string;
  dtype: string;
  dims: Dim[];
  /** Set when the model gives no shape at all (or a non-tensor type); `dims` is then empty. */
  unknownRank?: boolean;
}

/** A model file as read from disk: the decoded proto plus the exact bytes (hashing, ORT sessions). */
export interface LoadedModel {
  model: Onnx.ModelProto;
  bytes: Uint8Array;
}

/** The model's interface as kiln sees it. */
export interface ModelDescription {
  inputs: IoSpec[];
  outputs: IoSpec[];
  /** Opset version per domain; the default domain ('' in the file) is keyed 'ai.onnx'. */
  opsets: Record<string, number>;
  irVersion: number;
}

type Int64 = number | { toString(): string };

// protobufjs hands int64 fields back as Long objects when the `long` package is installed.
function toNumber(value: Int64 | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : Number(value.toString());
}

// ORT-node dtype names, so callers can build tensors straight from an IoSpec.
// Indexed by TensorProto.DataType (0 = UNDEFINED).
const DTYPES = (
  'unknown float32 uint8 int8 uint16 int16 int32 int64 string bool ' +
  'float16 float64 uint32 uint64 complex64 complex128 bfloat16'
).split(' ');

/**
 * Reads and decodes an ONNX model. protobufjs happily decodes many byte strings that are not
 * models, so the result is also checked for the parts every real model has.
 * @throws InputError when the file is missing, unreadable or not a plausible ONNX model.
 */
export async function loadOnnxModel(path: string): Promise<LoadedModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`${path}: model file not found`, { cause: error });
    if (code === 'EISDIR') throw new InputError(`${path}: not a valid ONNX model (is a directory)`);
    throw new InputError(`${path}: cannot read model file (${code ?? String(error)})`, { cause: error });
  }
  let model: Onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    const reason = firstLine(error);
    throw new InputError(`${path}: not a valid ONNX model (protobuf decode failed: ${reason})`, {
      cause: error,
    });
  }
  const problem = implausibility(model);
  if (problem !== undefined) {
    throw new InputError(`${path}: not a valid ONNX model (${problem})`, {
      cause: new Error(`decoded ${bytes.length} bytes but ${problem}`),
    });
  }
  return { model, bytes };
}

function implausibility(model: Onnx.ModelProto): string | undefined {
  const graph = model.graph;
  if (!graph) return 'no graph';
  if (toNumber(model.irVersion) <= 0) return 'no ir_version';
  if (!model.opsetImport || model.opsetImport.length === 0) return 'no opset_import';
  // Weights may live in Constant nodes rather than initializers, so only nodes are required.
  if (!graph.node || graph.node.length === 0) return 'graph has no nodes';
  if (graph.node.some((node) => !node.opType)) return 'graph has a node without op_type';
  if (realInputs(graph).length === 0) return 'graph has no inputs';
  return undefined;
}

// Old exporters list initializers in graph.input too; those are weights, not things a caller feeds.
function realInputs(graph: Onnx.IGraphProto): Onnx.IValueInfoProto[] {
  const weights = new Set((graph.initializer ?? []).map((tensor) => tensor.name ?? ''));
  return (graph.input ?? []).filter((input) => !weights.has(input.name ?? ''));
}

function ioSpec(info: Onnx.IValueInfoProto): IoSpec {
  const type = info.type;
  const name = info.name ?? '';
  const tensor = type?.tensorType ?? type?.sparseTensorType;
  if (!tensor) {
    const kind = ['sequenceType', 'mapType', 'optionalType'].find(
      (key) => type?.[key as keyof Onnx.ITypeProto],
    );
    return { name, dtype: kind?.replace('Type', '') ?? 'unknown', dims: [], unknownRank: true };
  }
  const dtype = DTYPES[tensor.elemType ?? 0] ?? 'unknown';
  if (!tensor.shape) return { name, dtype, dims: [], unknownRank: true };
  const dims = (tensor.shape.dim ?? []).map((dim) => {
    if (dim.dimParam) return dim.dimParam;
    // dimValue is part of a oneof, so it is null (not 0) when the file leaves the dim unknown.
    return dim.dimValue != null ? toNumber(dim.dimValue) : null;
  });
  return { name, dtype, dims };
}

/** Inputs (weights excluded), outputs, opsets and IR version of a model. */
export function describeModel(model: Onnx.IModelProto): ModelDescription {
  const graph = model.graph ?? {};
  const opsets: Record<string, number> = {};
  for (const opset of model.opsetImport ?? []) {
    opsets[opset.domain || 'ai.onnx'] = toNumber(opset.version);
  }
  return {
    inputs: realInputs(graph).map(ioSpec),
    outputs: (graph.output ?? []).map(ioSpec),
    opsets,
    irVersion: toNumber(model.irVersion),
  };
}

/**
 * Every op type in the graph and its subgraphs (If/Loop/Scan bodies), prefixed with its domain when
 * that is not the default one (e.g. 'com.microsoft.FusedConv'), so custom ops never pass for standard ones.
 */
export function modelOpTypes(model: Onnx.IModelProto): Set<string> {
  const ops = new Set<string>();
  const visit = (graph: Onnx.IGraphProto | null | undefined): void => {
    for (const node of graph?.node ?? []) {
      const domain = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}.` : '';
      ops.add(`${domain}${node.opType ?? ''}`);
      for (const attribute of node.attribute ?? []) {
        visit(attribute.g);
        for (const sub of attribute.graphs ?? []) visit(sub);
      }
    }
  };
  visit(model.graph);
  return ops;
}

/** Dims as shown in messages: fixed sizes as numbers, anything the caller may choose as '?'. */
export function formatDims(dims: readonly Dim[]): string {
  return `[${dims.map((dim) => (typeof dim === 'number' ? dim : '?')).join(',')}]`;
}

// Input names are arbitrary strings ('input:0', 'x.1'); quote them when a dotted path would mislead.
function keyPath(where: string, name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `${where}.${name}` : `${where}[${JSON.stringify(name)}]`;
}

/** Per input name, its dims; `null` (only from {@link pinInputShapes} callers) leaves a dim unpinned. */
export type ProfileShapes = Readonly<Record<string, ReadonlyArray<number | null>>>;

/**
 * Checks a profile's input shapes against the model inputs. `where` is the key path of the shapes
 * map (e.g. `kiln.yaml: models[0].profiles[1].shapes`); messages start with it. Returns the value
 * each symbolic dim name takes, since ONNX means one name to be one size across all inputs.
 * A `null` dim is skipped (rank still counts): ranged profiles pin only the dims where min = max.
 * @throws InputError naming the first problem found.
 */
export function checkProfileShapes(
  inputs: readonly IoSpec[],
  shapes: ProfileShapes,
  where: string,
): Map<string, number> {
  const names = inputs.map((input) => input.name);
  for (const name of Object.keys(shapes)) {
    if (!names.includes(name)) {
      throw new InputError(
        `${keyPath(where, name)}: '${name}' is not a model input (model inputs: ${names.join(', ')})`,
      );
    }
  }
  const symbols = new Map<string, { value: number; at: string }>();
  for (const input of inputs) {
    const shape = shapes[input.name];
    const at = keyPath(where, input.name);
    if (shape === undefined) {
      throw new InputError(
        `${where}: no shape for model input '${input.name}' ${formatDims(input.dims)} (a profile needs every input: ${names.join(', ')})`,
      );
    }
    if (!Array.isArray(shape)) {
      throw new InputError(`${at}: ${JSON.stringify(shape)} is not a list of dims`);
    }
    if (!input.unknownRank && shape.length !== input.dims.length) {
      throw new InputError(
        `${at}: ${formatDims(shape)} has rank ${shape.length}, model input '${input.name}' has rank ${input.dims.length} ${formatDims(input.dims)}`,
      );
    }
    shape.forEach((value, index) => {
      if (value === null) return;
      if (!Number.isInteger(value) || value < 1) {
        throw new InputError(`${at}: dim ${index} is ${JSON.stringify(value)}, expected an integer >= 1`);
      }
      const dim = input.dims[index];
      if (typeof dim === 'number' && dim !== value) {
        throw new InputError(`${at}: dim ${index} is ${value} but the model fixes it to ${dim}`);
      }
      if (typeof dim !== 'string') return;
      const bound = symbols.get(dim);
      if (bound === undefined) symbols.set(dim, { value, at: `${input.name} dim ${index}` });
      else if (bound.value !== value) {
        throw new InputError(
          `${at}: dim ${index} is ${value} but the model names it '${dim}', which is ${bound.value} at ${bound.at}`,
        );
      }
    });
  }
  return new Map([...symbols].map(([name, { value }]) => [name, value]));
}

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
