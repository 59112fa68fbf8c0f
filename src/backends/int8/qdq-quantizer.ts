/**
 * A QDQ (QuantizeLinear/DequantizeLinear) quantizer on onnx-proto, the format ONNX Runtime's CPU
 * provider fuses into int8 kernels (QLinearConv, QLinearMatMul, QGemm, QLinearAdd, ...) and TensorRT
 * reads as explicit quantization.
 *
 * Scheme (onnxruntime's CPU default, QDQ format): activations uint8 asymmetric per tensor, weights
 * int8 symmetric per output channel, biases int32 with scale = input scale × weight scale. uint8
 * activations let ReLU outputs use all 256 levels, and MLAS's u8s8 kernels are its fastest path;
 * on CPUs without VNNI the u8s8 dot product can saturate, which `reduceRange` (7-bit weights) avoids.
 *
 * Run it on a model after ORT's basic optimizations (BatchNorm folded into Conv, Constants folded),
 * as onnxruntime's `quant_pre_process` does. Nodes it cannot quantize stay fp32 and are reported.
 */
import onnxProto from 'onnx-proto';
import { DEFAULT_QDQ_OPS } from './int8-defaults.js';

export { DEFAULT_QDQ_OPS };
import type { onnx as Onnx } from 'onnx-proto';
import type { ActivationType, CalibrationResult } from './calibration.js';
import { emitQdq } from './qdq-emit.js';
import { nodeName } from './qdq-graph.js';
import { planNodes, planQdq } from './qdq-plan.js';
import { prepareModel } from './qdq-tensors.js';

export { quantizeWeight } from './qdq-tensors.js';

const { onnx } = onnxProto;

/** A node left in fp32, and why. */
export interface SkippedNode {
  node: string;
  op: string;
  reason: string;
}

export interface QdqOptions {
  /** uint8 asymmetric (default, ORT CPU) or int8 symmetric activations. */
  activationType?: ActivationType;
  /** 7-bit weights, for u8s8 kernels that saturate without VNNI. */
  reduceRange?: boolean;
  /** Op types to quantize; default {@link DEFAULT_QDQ_OPS}. */
  ops?: readonly string[];
  /**
   * Quantize a tensor whose consumers all saturate (Relu, Clip, HardSigmoid, HardSwish) over the
   * part of its calibrated range they can tell apart only (default true): finer steps, same result.
   */
  consumerRanges?: boolean;
  /**
   * Quantize Conv/Gemm biases to int32 (default true, ORT's scheme). TensorRT keeps biases float:
   * its explicit quantization reads int8 Q/DQ only (onnx/onnx-tensorrt 8.6-GA
   * builtin_op_importers.cpp QuantDequantLinearHelper builds int8 layers).
   */
  quantizeBias?: boolean;
  /** Nodes (by name) to leave in fp32 whatever their op, each with the reason reported in `skipped`. */
  keepFp32?: readonly SkippedNode[];
}

export interface QdqResult {
  model: Uint8Array;
  quantizedNodes: number;
  /** The nodes quantized, in graph order. */
  quantized: { node: string; op: string }[];
  skipped: SkippedNode[];
  /** Default-domain opset of the result (13 when per-channel weights needed an upgrade). */
  opset: number;
  perChannel: boolean;
}

type Graph = Onnx.GraphProto;

/**
 * Names of the float activations whose ranges calibration must measure for {@link quantizeQdq}:
 * the inputs and outputs of every node that would be quantized.
 */
export function quantizableTensors(model: Onnx.IModelProto | Uint8Array, options: QdqOptions = {}): string[] {
  const { plans } = planNodes(prepareModel(model).graph as Graph, options);
  return [...new Set(plans.flatMap((plan) => plan.activations))];
}

/**
 * Inserts Q/DQ pairs so ORT runs the planned nodes in int8. Every consumer of a quantized tensor
 * reads the dequantized copy (ORT's own QDQ layout), so a producer's only consumer is its Q node and
 * ORT can fuse it. Never throws for an unsupported model: what it cannot do is in `skipped`.
 */
export function quantizeQdq(
  source: Onnx.IModelProto | Uint8Array,
  calibration: CalibrationResult,
  options: QdqOptions = {},
): QdqResult {
  const first = build(source, calibration, options, true);
  if (first.upgradeProblem === undefined) return first.result;
  // Per-channel DequantizeLinear needs opset 13; per-tensor works from opset 10 without an upgrade.
  const fallback = build(source, calibration, options, false);
  const why = `per-channel weights need opset 13: ${first.upgradeProblem}`;
  if (fallback.upgradeProblem === undefined && fallback.result.opset >= 10) {
    return {
      ...fallback.result,
      skipped: [...fallback.result.skipped, { node: '(model)', op: '', reason: why }],
    };
  }
  const model = onnx.ModelProto.encode(prepareModel(source)).finish();
  const plans = planNodes(prepareModel(source).graph as Graph, options);
  const all = plans.plans.map((p) => ({ node: nodeName(p.node), op: p.node.opType ?? '', reason: why }));
  return {
    model,
    quantizedNodes: 0,
    quantized: [],
    skipped: [...plans.skipped, ...all],
    opset: first.result.opset,
    perChannel: false,
  };
}

/** Plans on a fresh copy of `source`, then emits: per-channel weights when `perChannel`. */
function build(
  source: Onnx.IModelProto | Uint8Array,
  calibration: CalibrationResult,
  options: QdqOptions,
  perChannel: boolean,
): { result: QdqResult; upgradeProblem?: string } {
  const model = prepareModel(source);
  const plan = planQdq(model.graph as Graph, calibration, options);
  return emitQdq(model, plan, options, perChannel);
}
