/**
 * Planning for the QDQ quantizer: which nodes are quantized (and which stay fp32, and why), which of
 * their inputs are weights, biases and constants, and the scale and zero point of every activation.
 * Reads the graph, never changes it; qdq-emit.ts writes what the plan says.
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { quantizationParams } from './calibration.js';
import type { ActivationType, CalibrationResult } from './calibration.js';
import { elemTypes, nodeName, saturationIntervals } from './qdq-graph.js';
import type { QdqOptions, SkippedNode } from './qdq-quantizer.js';
import { dimsOf, floatValues } from './qdq-tensors.js';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;

type Graph = Onnx.GraphProto;
type Tensor = Onnx.ITensorProto;

/** Ops with weights, quantized per channel: weight input 1. */
const WEIGHTED = new Set(['Conv', 'MatMul', 'Gemm']);
/** Ops whose float inputs and output all become uint8, so ORT can chain int8 kernels through them. */
const ACTIVATION_OPS = new Set(['Add', 'Mul', 'GlobalAveragePool', 'Concat', 'MaxPool', 'AveragePool']);
import { DEFAULT_QDQ_OPS } from './int8-defaults.js';

export { DEFAULT_QDQ_OPS };

/** How one node is quantized. */
export interface NodePlan {
  node: Onnx.INodeProto;
  /** Activation inputs (and outputs) that get one Q/DQ pair each. */
  activations: string[];
  /** Input index of the weight and its per-channel axis (undefined: per tensor). */
  weight?: { index: number; axis: number | undefined };
  /** Input index of a bias quantized to int32 against input 0 and the weight. */
  bias?: number;
  /** Float constant inputs of activation ops, stored directly in the activation type. */
  constants: number[];
}

/** Scale and zero point of one activation. */
export type ActivationParams = (name: string) => { scale: number; zeroPoint: number };

/** The whole plan: nodes to quantize (each calibrated), nodes left fp32, activation parameters. */
export interface QdqPlan {
  accepted: NodePlan[];
  skipped: SkippedNode[];
  params: ActivationParams;
}

/**
 * The nodes of `graph` the options ask for that can be quantized, each with its roles; the others
 * that carry float weights are listed in `skipped` with the reason.
 */
export function planNodes(graph: Graph, options: QdqOptions): { plans: NodePlan[]; skipped: SkippedNode[] } {
  const ops = new Set(options.ops ?? DEFAULT_QDQ_OPS);
  const kept = new Map((options.keepFp32 ?? []).map((k) => [k.node, k.reason]));
  const weights = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const types = elemTypes(graph);
  const outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const isActivation = (name: string) => name !== '' && !weights.has(name) && types.get(name) === DT.FLOAT;
  const plans: NodePlan[] = [];
  const skipped: SkippedNode[] = [];
  for (const node of graph.node ?? []) {
    const op = node.opType ?? '';
    const inputs = node.input ?? [];
    const out = node.output?.[0] ?? '';
    const skip = (reason: string) => skipped.push({ node: nodeName(node), op, reason });
    if ((node.domain ?? '') !== '') continue;
    const keep = kept.get(nodeName(node));
    if (keep !== undefined && (WEIGHTED.has(op) || ACTIVATION_OPS.has(op)) && ops.has(op)) skip(keep);
    else if (WEIGHTED.has(op) && ops.has(op)) {
      const x = inputs[0] ?? '';
      const w = weights.get(inputs[1] ?? '');
      if (!isActivation(x)) skip(`input '${x}' is not a float activation`);
      else if (outputs.has(out)) skip(`output '${out}' is a graph output, kept fp32`);
      else if (!w && op !== 'MatMul') skip(`weight '${inputs[1]}' is not a constant`);
      else if (w && !floatValues(w)) skip(`weight '${inputs[1]}' is not float32 data held in the model`);
      else if (!w) plans.push({ node, activations: [x, inputs[1] ?? '', out], constants: [] });
      else plans.push(weightedPlan(node, w, weights.get(inputs[2] ?? ''), [x, out]));
    } else if (ACTIVATION_OPS.has(op) && ops.has(op)) {
      const floatInputs = inputs.every((name) => types.get(name) === DT.FLOAT);
      if (!floatInputs || types.get(out) !== DT.FLOAT || outputs.has(out)) continue;
      const constants = inputs.flatMap((name, i) => (weights.has(name) ? [i] : []));
      if (constants.some((i) => !floatValues(weights.get(inputs[i] ?? '') as Tensor))) continue;
      plans.push({ node, activations: [...inputs.filter((n) => !weights.has(n)), out], constants });
    } else if (
      inputs.some((name) => (weights.get(name)?.dims?.length ?? 0) >= 2 && types.get(name) === DT.FLOAT)
    ) {
      // Carries float weights but kiln has no int8 rule for it: worth naming, it stays fp32.
      skip(`op ${op} is not supported by kiln's int8 quantizer`);
    }
  }
  return { plans, skipped };
}

/** Conv/Gemm/MatMul with a constant weight: its per-channel axis, and a bias when one fits. */
function weightedPlan(
  node: Onnx.INodeProto,
  w: Tensor,
  b: Tensor | undefined,
  activations: string[],
): NodePlan {
  const op = node.opType ?? '';
  const rank = dimsOf(w).length;
  const transB = node.attribute?.find((a) => a.name === 'transB')?.i;
  const axis = op === 'Conv' ? 0 : op === 'Gemm' ? (Number(transB ?? 0) ? 0 : 1) : rank === 2 ? 1 : undefined;
  const beta = node.attribute?.find((a) => a.name === 'beta')?.f ?? 1;
  const channels = axis === undefined ? -1 : (dimsOf(w)[axis] ?? -1);
  const biasOk = b && floatValues(b) && dimsOf(b).length === 1 && dimsOf(b)[0] === channels && beta === 1;
  return {
    node,
    activations,
    weight: { index: 1, axis },
    ...(biasOk && op !== 'MatMul' ? { bias: 2 } : {}),
    constants: [],
  };
}

/**
 * Plans the quantization of `graph`: a node whose tensors lack calibration is dropped and reported,
 * and each activation gets its parameters from its calibrated range.
 */
export function planQdq(graph: Graph, calibration: CalibrationResult, options: QdqOptions): QdqPlan {
  const { plans, skipped } = planNodes(graph, options);
  const accepted = plans.filter((plan) => {
    const missing = plan.activations.find((name) => !calibration.activations[name]);
    if (missing === undefined) return true;
    skipped.push({
      node: nodeName(plan.node),
      op: plan.node.opType ?? '',
      reason: `no calibration for '${missing}'`,
    });
    return false;
  });
  const type = options.activationType ?? 'uint8';
  const params = activationParams(graph, calibration, type, options.consumerRanges ?? true);
  return { accepted, skipped, params };
}

/**
 * Scale and zero point of each calibrated activation, over its calibrated range narrowed to where
 * its consumers still tell values apart ({@link saturationIntervals}), when `narrow`.
 */
function activationParams(
  graph: Graph,
  calibration: CalibrationResult,
  type: ActivationType,
  narrow: boolean,
): ActivationParams {
  const intervals = narrow ? saturationIntervals(graph) : new Map<string, { lo: number; hi: number }>();
  return (name) => {
    const calibrated = calibration.activations[name] as {
      min: number;
      max: number;
      scale: number;
      zeroPoint: number;
    };
    const interval = intervals.get(name);
    if (!interval) return calibrated;
    const min = Math.max(calibrated.min, interval.lo);
    const max = Math.min(calibrated.max, interval.hi);
    if (min === calibrated.min && max === calibrated.max) return calibrated;
    return quantizationParams(Math.min(min, max), Math.max(min, max), type);
  };
}
