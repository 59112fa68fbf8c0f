/**
 * Reading ONNX model files and their input/output signatures. Checking profile shapes against them is in
 * `profile-shape-check.ts`; pinning dynamic input dims, in `pin-input-shapes.ts`.
 */
import { dirname } from 'node:path';
import type { onnx as Onnx } from 'onnx-proto';
import { readConfined } from '../../core/io/confined-file.js';
import { firstLine, InputError } from '../../core/errors.js';
import { checkExternalData } from './external-data-check.js';

/** protobuf cannot encode a message over 2 GiB, so no larger file can be a model. */
export const MAX_MODEL_BYTES = 2 * 1024 ** 3;

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
  /**
   * The external-data files the model's tensors live in (normalized relative POSIX paths inside the
   * model's folder, sorted, each once); empty for a self-contained model. Their bytes are never read here.
   */
  externalFiles: string[];
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
 * Reads and decodes an ONNX model: a regular file inside `root` (default: its own folder; the config's
 * folder for models a config names), read through the confined-file checks. protobufjs happily
 * decodes many byte strings that are not models, so the result is also checked for the parts every
 * real model has, and every external-data location must stay inside the model's folder.
 * @throws InputError when the file is missing, unreadable, outside `root` or not a plausible model.
 */
export async function loadOnnxModel(path: string, root = dirname(path)): Promise<LoadedModel> {
  const bytes: Uint8Array = await readConfined(root, path, {
    what: 'model file',
    maxBytes: MAX_MODEL_BYTES,
    limitName: "protobuf's 2 GiB message limit",
  });
  // protobufjs and the ONNX schema load only where a model is decoded whole: planning walks it.
  const { onnx } = (await import('onnx-proto')).default;
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
  const externalFiles = await checkExternalData(model, path);
  return { model, bytes, externalFiles };
}

/** Why a decoded (or walked) message is not a plausible model, or undefined when it is one. */
export function implausibility(model: Onnx.IModelProto): string | undefined {
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

export function realInputs(graph: Onnx.IGraphProto): Onnx.IValueInfoProto[] {
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
