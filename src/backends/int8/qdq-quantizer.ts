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
import type { onnx as Onnx } from 'onnx-proto';
import { quantizationParams } from './calibration.js';
import type { ActivationType, CalibrationResult } from './calibration.js';
import { namesRead } from '../model/graph-reads.js';
import { elemTypes, nodeName, saturationIntervals, upgradeToOpset13 } from './qdq-graph.js';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;

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

/** Ops with weights, quantized per channel: weight input 1. */
const WEIGHTED = new Set(['Conv', 'MatMul', 'Gemm']);
/** Ops whose float inputs and output all become uint8, so ORT can chain int8 kernels through them. */
const ACTIVATION_OPS = new Set(['Add', 'Mul', 'GlobalAveragePool', 'Concat', 'MaxPool', 'AveragePool']);
export { DEFAULT_QDQ_OPS } from './int8-defaults.js';

type Graph = Onnx.GraphProto;
type Node = Onnx.INodeProto;
type Tensor = Onnx.ITensorProto;

interface Plan {
  node: Node;
  /** Activation inputs (and outputs) that get one Q/DQ pair each. */
  activations: string[];
  /** Input index of the weight and its per-channel axis (undefined: per tensor). */
  weight?: { index: number; axis: number | undefined };
  /** Input index of a bias quantized to int32 against input 0 and the weight. */
  bias?: number;
  /** Float constant inputs of activation ops, stored directly in the activation type. */
  constants: number[];
}

/** Decodes a copy whose Constant nodes have become initializers, so weights have one form. */
export function prepareModel(source: Onnx.IModelProto | Uint8Array): Onnx.ModelProto {
  const bytes = source instanceof Uint8Array ? source : onnx.ModelProto.encode(source).finish();
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph ?? onnx.GraphProto.create();
  const initializers = [...(graph.initializer ?? [])];
  graph.node = (graph.node ?? []).filter((node) => {
    const value = node.attribute?.find((a) => a.name === 'value' && a.t);
    if (node.opType !== 'Constant' || (node.domain ?? '') !== '' || !value?.t || node.output?.length !== 1) {
      return true;
    }
    initializers.push(onnx.TensorProto.create({ ...value.t, name: node.output[0] }));
    return false;
  });
  graph.initializer = initializers;
  model.graph = graph;
  return model;
}

/** Float32 values of a constant tensor, or undefined for other dtypes and external data. */
export function floatValues(tensor: Tensor): Float32Array | undefined {
  if (tensor.dataType !== DT.FLOAT || tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    return undefined;
  }
  if (tensor.rawData && tensor.rawData.length > 0)
    return new Float32Array(Uint8Array.from(tensor.rawData).buffer);
  return Float32Array.from(tensor.floatData ?? []);
}

const dimsOf = (tensor: Tensor) => (tensor.dims ?? []).map(Number);

function planNodes(
  graph: Graph,
  ops: ReadonlySet<string>,
  keepFp32: readonly SkippedNode[] = [],
): { plans: Plan[]; skipped: SkippedNode[] } {
  const kept = new Map(keepFp32.map((k) => [k.node, k.reason]));
  const weights = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const types = elemTypes(graph);
  const outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const isActivation = (name: string) => name !== '' && !weights.has(name) && types.get(name) === DT.FLOAT;
  const plans: Plan[] = [];
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
      else {
        const rank = dimsOf(w).length;
        const transB = node.attribute?.find((a) => a.name === 'transB')?.i;
        const axis =
          op === 'Conv' ? 0 : op === 'Gemm' ? (Number(transB ?? 0) ? 0 : 1) : rank === 2 ? 1 : undefined;
        const beta = node.attribute?.find((a) => a.name === 'beta')?.f ?? 1;
        const b = weights.get(inputs[2] ?? '');
        const channels = axis === undefined ? -1 : (dimsOf(w)[axis] ?? -1);
        const biasOk =
          b && floatValues(b) && dimsOf(b).length === 1 && dimsOf(b)[0] === channels && beta === 1;
        plans.push({
          node,
          activations: [x, out],
          weight: { index: 1, axis },
          ...(biasOk && op !== 'MatMul' ? { bias: 2 } : {}),
          constants: [],
        });
      }
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

/**
 * Names of the float activations whose ranges calibration must measure for {@link quantizeQdq}:
 * the inputs and outputs of every node that would be quantized.
 */
export function quantizableTensors(model: Onnx.IModelProto | Uint8Array, options: QdqOptions = {}): string[] {
  const graph = prepareModel(model).graph as Graph;
  const { plans } = planNodes(graph, new Set(options.ops ?? DEFAULT_QDQ_OPS), options.keepFp32);
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
  const plans = planNodes(
    prepareModel(source).graph as Graph,
    new Set(options.ops ?? DEFAULT_QDQ_OPS),
    options.keepFp32,
  );
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

function build(
  source: Onnx.IModelProto | Uint8Array,
  calibration: CalibrationResult,
  options: QdqOptions,
  perChannel: boolean,
): { result: QdqResult; upgradeProblem?: string } {
  const model = prepareModel(source);
  const graph = model.graph as Graph;
  const type = options.activationType ?? 'uint8';
  const qmax = options.reduceRange ? 63 : 127;
  const { plans, skipped } = planNodes(graph, new Set(options.ops ?? DEFAULT_QDQ_OPS), options.keepFp32);
  const weights = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const names = new Set([...weights.keys(), ...(graph.node ?? []).flatMap((n) => [...(n.output ?? [])])]);
  const unique = (base: string) => {
    let name = base;
    for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };
  const added: Tensor[] = [];
  const constant = (base: string, dataType: number, dims: number[], raw: ArrayBufferView) => {
    const name = unique(base);
    const rawData = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength).slice();
    added.push(onnx.TensorProto.create({ name, dataType, dims, rawData }));
    return name;
  };
  const zpArray = (n: number) => (type === 'uint8' ? new Uint8Array(n) : new Int8Array(n));
  const zpType = type === 'uint8' ? DT.UINT8 : DT.INT8;
  const dq = (input: string, scale: string, zp: string, output: string, axis?: number): Node => ({
    opType: 'DequantizeLinear',
    name: unique(`${output}_node`),
    input: [input, scale, zp],
    output: [output],
    attribute:
      axis === undefined ? [] : [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: axis }],
  });

  // Tensors to quantize, each once; a plan whose tensors lack calibration is dropped and reported.
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
  const params = activationParams(graph, calibration, type, options.consumerRanges ?? true);
  const rename = new Map<string, string>();
  const pairs = new Map<string, Node[]>();
  for (const name of new Set(accepted.flatMap((plan) => plan.activations))) {
    const { scale, zeroPoint } = params(name);
    const s = constant(`${name}_scale`, DT.FLOAT, [], new Float32Array([scale]));
    const z = constant(
      `${name}_zero_point`,
      zpType,
      [],
      type === 'uint8' ? new Uint8Array([zeroPoint]) : new Int8Array([zeroPoint]),
    );
    const q = unique(`${name}_QuantizeLinear_Output`);
    const d = unique(`${name}_DequantizeLinear_Output`);
    rename.set(name, d);
    pairs.set(name, [
      { opType: 'QuantizeLinear', name: unique(`${q}_node`), input: [name, s, z], output: [q] },
      dq(q, s, z, d),
    ]);
  }

  // Weights: int8 symmetric per channel (or per tensor), bias int32; each node gets its own copy
  // rewired, so a weight shared with an fp32 node stays intact for that node.
  const prologue: Node[] = [];
  const rewired = new Map<Node, string[]>();
  for (const plan of accepted) {
    const inputs = [...(plan.node.input ?? [])];
    let weightScales: Float32Array | undefined;
    if (plan.weight) {
      const w = weights.get(inputs[plan.weight.index] ?? '') as Tensor;
      const axis = perChannel ? plan.weight.axis : undefined;
      const { q, scales } = quantizeWeight(floatValues(w) as Float32Array, dimsOf(w), axis, qmax);
      weightScales = scales;
      const qName = constant(`${w.name}_quantized`, DT.INT8, dimsOf(w), q);
      const sName = constant(`${w.name}_scale`, DT.FLOAT, axis === undefined ? [] : [scales.length], scales);
      const zName = constant(
        `${w.name}_zero_point`,
        DT.INT8,
        axis === undefined ? [] : [scales.length],
        new Int8Array(scales.length),
      );
      const out = unique(`${w.name}_DequantizeLinear_Output`);
      prologue.push(dq(qName, sName, zName, out, axis));
      inputs[plan.weight.index] = out;
    }
    if (plan.bias !== undefined && weightScales && (options.quantizeBias ?? true)) {
      const b = weights.get(inputs[plan.bias] ?? '') as Tensor;
      const xScale = params(inputs[0] ?? '').scale;
      const values = floatValues(b) as Float32Array;
      const scales = Float32Array.from(
        values,
        (_, c) => xScale * (weightScales[weightScales.length === 1 ? 0 : c] as number),
      );
      const q = Int32Array.from(values, (v, c) =>
        clamp(Math.round(v / (scales[c] as number)), -(2 ** 31), 2 ** 31 - 1),
      );
      const n = values.length;
      const qName = constant(`${b.name}_quantized`, DT.INT32, [n], q);
      const sName = constant(`${b.name}_scale`, DT.FLOAT, [n], scales);
      const zName = constant(`${b.name}_zero_point`, DT.INT32, [n], new Int32Array(n));
      const out = unique(`${b.name}_DequantizeLinear_Output`);
      prologue.push(dq(qName, sName, zName, out, 0));
      inputs[plan.bias] = out;
    }
    for (const index of plan.constants) {
      const c = weights.get(inputs[index] ?? '') as Tensor;
      const values = floatValues(c) as Float32Array;
      const lo = Math.min(0, ...values);
      const hi = Math.max(0, ...values);
      const scale = type === 'uint8' ? (hi - lo) / 255 || 1 : Math.max(-lo, hi) / 127 || 1;
      const zp = type === 'uint8' ? Math.round(-lo / scale) : 0;
      const data = zpArray(values.length);
      values.forEach(
        (v, i) =>
          (data[i] = clamp(
            Math.round(v / scale) + zp,
            type === 'uint8' ? 0 : -127,
            type === 'uint8' ? 255 : 127,
          )),
      );
      const qName = constant(`${c.name}_quantized`, zpType, dimsOf(c), data);
      const sName = constant(`${c.name}_scale`, DT.FLOAT, [], new Float32Array([scale]));
      const zName = constant(
        `${c.name}_zero_point`,
        zpType,
        [],
        type === 'uint8' ? new Uint8Array([zp]) : new Int8Array([zp]),
      );
      const out = unique(`${c.name}_DequantizeLinear_Output`);
      prologue.push(dq(qName, sName, zName, out));
      inputs[index] = out;
    }
    rewired.set(plan.node, inputs);
  }

  // Emit in topological order: weight DQs and input Q/DQs first, each node followed by its Q/DQs.
  const nodes: Node[] = [...prologue];
  for (const input of graph.input ?? []) nodes.push(...(pairs.get(input.name ?? '') ?? []));
  for (const node of graph.node ?? []) {
    const own = rewired.get(node) ?? node.input ?? [];
    node.input = own.map((name) => rename.get(name) ?? name);
    nodes.push(node);
    for (const out of node.output ?? []) nodes.push(...(pairs.get(out) ?? []));
  }
  graph.node = nodes;
  const used = namesRead(nodes);
  graph.initializer = [...(graph.initializer ?? []).filter((t) => used.has(t.name ?? '')), ...added];
  // Old exporters list initializers as graph inputs too; drop the ones that no longer exist.
  const kept = new Set(graph.initializer.map((t) => t.name ?? ''));
  graph.input = (graph.input ?? []).filter((i) => kept.has(i.name ?? '') || !weights.has(i.name ?? ''));

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
  const result = {
    model: onnx.ModelProto.encode(model).finish(),
    quantizedNodes: accepted.length,
    quantized: accepted.map((p) => ({ node: nodeName(p.node), op: p.node.opType ?? '' })),
    skipped,
    opset,
    perChannel,
  };
  return upgradeProblem === undefined ? { result } : { result, upgradeProblem };
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
): (name: string) => { scale: number; zeroPoint: number } {
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

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/**
 * Symmetric int8 weights: per channel along `axis` (one scale per slice) or per tensor. An all-zero
 * channel gets scale 1 so dequantization never divides by zero.
 */
export function quantizeWeight(
  values: Float32Array,
  dims: readonly number[],
  axis: number | undefined,
  qmax = 127,
): { q: Int8Array; scales: Float32Array } {
  const channels = axis === undefined ? 1 : (dims[axis] ?? 1);
  const inner = axis === undefined ? values.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number) => (axis === undefined ? 0 : Math.floor(i / inner) % channels);
  const amax = new Float64Array(channels);
  values.forEach((v, i) => {
    const c = channelOf(i);
    amax[c] = Math.max(amax[c] as number, Math.abs(v));
  });
  const scales = Float32Array.from(amax, (a) => (a > 0 ? a / qmax : 1));
  const q = Int8Array.from(values, (v, i) =>
    clamp(Math.round(v / (scales[channelOf(i)] as number)), -qmax, qmax),
  );
  return { q, scales };
}
