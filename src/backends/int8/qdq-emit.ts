/**
 * Emission for the QDQ quantizer: writes what a {@link QdqPlan} says into the model as
 * QuantizeLinear/DequantizeLinear nodes and their initializers, in topological order, and raises the
 * opset when per-channel weights need it.
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import type { ActivationType } from './calibration.js';
import { namesRead } from '../model/graph-reads.js';
import { nodeName, upgradeToOpset13 } from './qdq-graph.js';
import { qdqWriter, type QdqWriter } from './qdq-writer.js';
import type { NodePlan, QdqPlan } from './qdq-plan.js';
import type { QdqOptions, QdqResult } from './qdq-quantizer.js';
import { dimsOf, floatValues, quantizeBias, quantizeConstant, quantizeWeight } from './qdq-tensors.js';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;

type Graph = Onnx.GraphProto;
type Node = Onnx.INodeProto;
type Tensor = Onnx.ITensorProto;

/**
 * Rewrites `model` (a {@link prepareModel} copy) as `plan` says: weights per channel when
 * `perChannel`, else per tensor. `upgradeProblem` says why the opset the result needs was not reached.
 */
export function emitQdq(
  model: Onnx.ModelProto,
  plan: QdqPlan,
  options: QdqOptions,
  perChannel: boolean,
): { result: QdqResult; upgradeProblem?: string } {
  const graph = model.graph as Graph;
  const { accepted, params } = plan;
  const type = options.activationType ?? 'uint8';
  const writer = qdqWriter(graph, new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t])));

  const { rename, pairs } = activationPairs(accepted, params, type, writer);

  // Weights, biases and constants: each node gets its own copy rewired, so a weight shared with an
  // fp32 node stays intact for that node.
  const rewired = new Map<Node, string[]>();
  for (const nodePlan of accepted)
    rewired.set(nodePlan.node, rewireConstants(nodePlan, writer, plan, options, perChannel));

  layout(graph, writer, { rename, pairs, rewired });

  const { opset, upgradeProblem } = raiseOpset(model, accepted, perChannel);
  const result = {
    model: onnx.ModelProto.encode(model).finish(),
    quantizedNodes: accepted.length,
    quantized: accepted.map((p) => ({ node: nodeName(p.node), op: p.node.opType ?? '' })),
    skipped: plan.skipped,
    opset,
    perChannel,
  };
  return upgradeProblem === undefined ? { result } : { result, upgradeProblem };
}

/**
 * The node's inputs with its weight (int8 symmetric, per channel or per tensor), bias (int32) and
 * float constants (activation type) replaced by dequantized copies written through `writer`.
 */
function rewireConstants(
  nodePlan: NodePlan,
  writer: QdqWriter,
  plan: QdqPlan,
  options: QdqOptions,
  perChannel: boolean,
): string[] {
  const type = options.activationType ?? 'uint8';
  const inputs = [...(nodePlan.node.input ?? [])];
  const tensor = (index: number) => writer.weights.get(inputs[index] ?? '') as Tensor;
  let weightScales: Float32Array | undefined;
  if (nodePlan.weight) {
    const w = tensor(nodePlan.weight.index);
    const axis = perChannel ? nodePlan.weight.axis : undefined;
    const qmax = options.reduceRange ? 63 : 127;
    const { q, scales } = quantizeWeight(floatValues(w) as Float32Array, dimsOf(w), axis, qmax);
    weightScales = scales;
    inputs[nodePlan.weight.index] = writer.dequantized(w, {
      dataType: DT.INT8,
      dims: dimsOf(w),
      q,
      scales,
      scaleDims: axis === undefined ? [] : [scales.length],
      zeroPointType: DT.INT8,
      zeroPoints: new Int8Array(scales.length),
      ...(axis === undefined ? {} : { axis }),
    });
  }
  if (nodePlan.bias !== undefined && weightScales && (options.quantizeBias ?? true)) {
    const b = tensor(nodePlan.bias);
    const values = floatValues(b) as Float32Array;
    const { q, scales } = quantizeBias(values, plan.params(inputs[0] ?? '').scale, weightScales);
    const n = [values.length];
    inputs[nodePlan.bias] = writer.dequantized(b, {
      dataType: DT.INT32,
      dims: n,
      q,
      scales,
      scaleDims: n,
      zeroPointType: DT.INT32,
      zeroPoints: new Int32Array(values.length),
      axis: 0,
    });
  }
  for (const index of nodePlan.constants) {
    const c = tensor(index);
    const { q, scale, zeroPoint } = quantizeConstant(floatValues(c) as Float32Array, type);
    inputs[index] = writer.dequantized(c, {
      dataType: zpType(type),
      dims: dimsOf(c),
      q,
      scales: new Float32Array([scale]),
      scaleDims: [],
      zeroPointType: zpType(type),
      zeroPoints: zeroPoints(type, [zeroPoint]),
    });
  }
  return inputs;
}

/** One QuantizeLinear/DequantizeLinear pair per activation, each once; readers get the DQ output. */
function activationPairs(
  accepted: NodePlan[],
  params: QdqPlan['params'],
  type: ActivationType,
  writer: QdqWriter,
) {
  const rename = new Map<string, string>();
  const pairs = new Map<string, Node[]>();
  for (const name of new Set(accepted.flatMap((p) => p.activations))) {
    const { scale, zeroPoint } = params(name);
    const s = writer.constant(`${name}_scale`, DT.FLOAT, [], new Float32Array([scale]));
    const z = writer.constant(`${name}_zero_point`, zpType(type), [], zeroPoints(type, [zeroPoint]));
    const q = writer.unique(`${name}_QuantizeLinear_Output`);
    const d = writer.unique(`${name}_DequantizeLinear_Output`);
    rename.set(name, d);
    pairs.set(name, [
      { opType: 'QuantizeLinear', name: writer.unique(`${q}_node`), input: [name, s, z], output: [q] },
      writer.dq(q, s, z, d),
    ]);
  }

  return { rename, pairs };
}

/**
 * Puts the graph in topological order: weight DQs and input Q/DQs first, each node followed by its
 * Q/DQs; drops the initializers no node reads any more.
 */
function layout(
  graph: Graph,
  writer: QdqWriter,
  edits: { rename: Map<string, string>; pairs: Map<string, Node[]>; rewired: Map<Node, string[]> },
) {
  const { rename, pairs, rewired } = edits;
  const { weights } = writer;
  const nodes: Node[] = [...writer.prologue];
  for (const input of graph.input ?? []) nodes.push(...(pairs.get(input.name ?? '') ?? []));
  for (const node of graph.node ?? []) {
    const own = rewired.get(node) ?? node.input ?? [];
    node.input = own.map((name) => rename.get(name) ?? name);
    nodes.push(node);
    for (const out of node.output ?? []) nodes.push(...(pairs.get(out) ?? []));
  }
  graph.node = nodes;
  const used = namesRead(nodes);
  graph.initializer = [...(graph.initializer ?? []).filter((t) => used.has(t.name ?? '')), ...writer.added];
  // Old exporters list initializers as graph inputs too; drop the ones that no longer exist.
  const kept = new Set(graph.initializer.map((t) => t.name ?? ''));
  graph.input = (graph.input ?? []).filter((i) => kept.has(i.name ?? '') || !weights.has(i.name ?? ''));
}

/** Raises the default-domain opset to what the Q/DQ nodes need, or says why it could not. */
function raiseOpset(model: Onnx.ModelProto, accepted: NodePlan[], perChannel: boolean) {
  const graph = model.graph as Graph;
  const defaultOpset = model.opsetImport?.find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx');
  let opset = Number(defaultOpset?.version ?? 0);
  const needs = perChannel && accepted.some((p) => p.weight && p.weight.axis !== undefined) ? 13 : 10;
  let upgradeProblem: string | undefined;
  if (accepted.length > 0 && opset < needs) {
    upgradeProblem = needs === 13 ? upgradeToOpset13(graph, opset) : `opset ${opset} has no QuantizeLinear`;
    if (upgradeProblem === undefined && defaultOpset) {
      defaultOpset.version = 13;
      opset = 13;
      if (Number(model.irVersion) < 7) model.irVersion = 7;
    }
  }
  return { opset, upgradeProblem };
}

const zpType = (type: ActivationType) => (type === 'uint8' ? DT.UINT8 : DT.INT8);
const zeroPoints = (type: ActivationType, values: number[]) =>
  type === 'uint8' ? Uint8Array.from(values) : Int8Array.from(values);
