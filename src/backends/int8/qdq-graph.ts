/**
 * Graph facts the QDQ quantizer needs that an ORT-saved model does not carry: each tensor's element
 * type (the saved model has no value_info), and a faithful move of old-opset models to opset 13,
 * the first opset whose DequantizeLinear takes an `axis` (per-channel weights).
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { namesRead } from '../model/graph-reads.js';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;
const { INT } = onnx.AttributeProto.AttributeType;

type Node = Onnx.INodeProto;

/** A node's name for reports: its own, else its first output. */
export function nodeName(node: Node): string {
  return node.name || node.output?.[0] || node.opType || '?';
}

const attr = (node: Node, name: string) => node.attribute?.find((a) => a.name === name);

const BOOL_OPS = new Set([
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'IsNaN',
  'IsInf',
]);
const INT64_OPS = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin']);

/**
 * Element type of every tensor, from declared types and a forward pass over the nodes: most ops
 * output their first input's type; the exceptions that matter (shape arithmetic, casts,
 * comparisons, quantization) are listed. Unknown stays absent, and absent is never treated as float.
 */
export function elemTypes(graph: Onnx.IGraphProto): Map<string, number> {
  const types = new Map<string, number>();
  for (const info of [...(graph.input ?? []), ...(graph.valueInfo ?? []), ...(graph.output ?? [])]) {
    const elemType = info.type?.tensorType?.elemType;
    if (info.name && elemType) types.set(info.name, elemType);
  }
  for (const t of graph.initializer ?? []) if (t.name && t.dataType) types.set(t.name, t.dataType);
  for (const node of graph.node ?? []) {
    const op = node.opType ?? '';
    const first = types.get(node.input?.[0] ?? '');
    let type: number | undefined = first;
    if ((node.domain ?? '') !== '' && op !== 'QuantizeLinear' && op !== 'DequantizeLinear') type = first;
    if (INT64_OPS.has(op)) type = DT.INT64;
    else if (BOOL_OPS.has(op)) type = DT.BOOL;
    else if (op === 'Cast') type = Number(attr(node, 'to')?.i ?? 0) || undefined;
    else if (op === 'Constant') type = attr(node, 'value')?.t?.dataType ?? undefined;
    else if (op === 'ConstantOfShape') type = attr(node, 'value')?.t?.dataType ?? DT.FLOAT;
    else if (op === 'DequantizeLinear') type = DT.FLOAT;
    else if (op === 'QuantizeLinear') type = types.get(node.input?.[2] ?? '') ?? DT.UINT8;
    else if (op === 'Where') type = types.get(node.input?.[1] ?? '');
    (node.output ?? []).forEach((out, i) => {
      if (types.has(out) || type === undefined) return;
      types.set(out, op === 'TopK' && i === 1 ? DT.INT64 : type);
    });
  }
  return types;
}

/**
 * First default-domain opset from which each op means the same as at opset 13 (for float data), so
 * raising the opset import is a no-op for it. Ops missing here, or older, need a rewrite below or
 * block the upgrade.
 */
const SAME_SINCE: Record<string, number> = {
  ...Object.fromEntries(
    'Conv ConvTranspose Transpose GlobalAveragePool GlobalMaxPool Identity Softplus Softsign Not LRN SpaceToDepth ArgMax ArgMin ReduceMean ReduceMax ReduceMin ReduceProd ReduceL1 ReduceL2 ReduceSumSquare ReduceLogSumExp Shape Size Gather'
      .split(' ')
      .map((op) => [op, 1]),
  ),
  ...Object.fromEntries(
    'Relu LeakyRelu Sigmoid Tanh HardSigmoid Elu Selu Exp Log Sqrt Neg Abs Reciprocal Floor Ceil InstanceNormalization Tile Cast'
      .split(' ')
      .map((op) => [op, 6]),
  ),
  ...Object.fromEntries('Add Sub Mul Div Pow Gemm And Or Equal AveragePool'.split(' ').map((op) => [op, 7])),
  ...Object.fromEntries('Expand Min Max Sum Mean MaxPool'.split(' ').map((op) => [op, 8])),
  ...Object.fromEntries(
    'MatMul PRelu Erf Sign Flatten Where Less Greater Constant ConstantOfShape BatchNormalization NonZero'
      .split(' ')
      .map((op) => [op, 9]),
  ),
  Reshape: 5,
  Concat: 4,
  Slice: 10,
  TopK: 10,
  // Only the quantizer's own nodes (written in opset-13 form) can be older than their opset.
  QuantizeLinear: 1,
  DequantizeLinear: 1,
  Clip: 11,
  Pad: 11,
  Resize: 11,
  Range: 11,
  DepthToSpace: 11,
  Einsum: 12,
  Softmax: 13,
  LogSoftmax: 13,
  Hardmax: 13,
  Squeeze: 13,
  Unsqueeze: 13,
  ReduceSum: 13,
  Split: 13,
};

/**
 * Rewrites the graph's default-domain nodes from `from` to opset-13 form in place. Returns why it
 * cannot (the graph is then partly rewritten and must be discarded), or undefined on success.
 */
export function upgradeToOpset13(graph: Onnx.IGraphProto, from: number): string | undefined {
  const initializers = [...(graph.initializer ?? [])];
  const nodes: Node[] = [];
  let counter = 0;
  const int64s = (base: string, values: readonly unknown[]) => {
    const name = `${base}_opset13_${counter++}`;
    initializers.push(
      onnx.TensorProto.create({
        name,
        dataType: DT.INT64,
        dims: [values.length],
        int64Data: values.map(Number),
      }),
    );
    return name;
  };
  const used = namesRead(graph.node ?? []);
  for (const node of graph.node ?? []) {
    const op = node.opType ?? '';
    const name = nodeName(node);
    if ((node.domain ?? '') !== '' && node.domain !== 'ai.onnx') {
      nodes.push(node);
      continue;
    }
    if (node.attribute?.some((a) => a.g || (a.graphs?.length ?? 0) > 0))
      return `${op} '${name}' has subgraphs`;
    const since = SAME_SINCE[op];
    if (since !== undefined && from >= since) {
      nodes.push(node);
      continue;
    }
    const keep = (drop: string[]) => (node.attribute ?? []).filter((a) => !drop.includes(a.name ?? ''));
    if (op === 'Clip') {
      // Clip-6: min/max attributes; Clip-11+: optional inputs.
      const bound = (key: string) => {
        const a = attr(node, key);
        if (a?.f == null) return '';
        const n = `${name}_${key}_opset13_${counter++}`;
        initializers.push(
          onnx.TensorProto.create({ name: n, dataType: DT.FLOAT, dims: [], floatData: [a.f] }),
        );
        return n;
      };
      node.input = [node.input?.[0] ?? '', bound('min'), bound('max')];
      node.attribute = keep(['min', 'max']);
      nodes.push(node);
    } else if (['Squeeze', 'Unsqueeze', 'ReduceSum', 'Split'].includes(op)) {
      const key = op === 'Split' ? 'split' : 'axes';
      const a = attr(node, key);
      if (a?.ints?.length) node.input = [node.input?.[0] ?? '', int64s(`${name}_${key}`, a.ints)];
      node.attribute = keep([key]);
      nodes.push(node);
    } else if (op === 'Slice' && from < 10) {
      const list = (key: string) => attr(node, key)?.ints ?? [];
      const starts = int64s(`${name}_starts`, list('starts'));
      const ends = int64s(`${name}_ends`, list('ends'));
      const axes = attr(node, 'axes') ? [int64s(`${name}_axes`, list('axes'))] : [];
      node.input = [node.input?.[0] ?? '', starts, ends, ...axes];
      node.attribute = keep(['starts', 'ends', 'axes']);
      nodes.push(node);
    } else if (op === 'Dropout') {
      if (node.output?.[1] && used.has(node.output[1])) return `Dropout '${name}' uses its mask output`;
      nodes.push({
        opType: 'Identity',
        name: node.name ?? '',
        input: [node.input?.[0] ?? ''],
        output: [node.output?.[0] ?? ''],
      });
    } else if (op === 'Softmax' || op === 'LogSoftmax' || op === 'Hardmax') {
      // Before 13 these coerce the input to 2-D at `axis`; Flatten → op(axis 1) → Reshape back is
      // exactly that at any rank. Axis -1 needs no rewrite: both versions normalize the last axis.
      const axis = Number(attr(node, 'axis')?.i ?? 1);
      if (axis === -1) {
        nodes.push(node);
        continue;
      }
      const x = node.input?.[0] ?? '';
      const y = node.output?.[0] ?? '';
      const t = (suffix: string) => `${name}_${suffix}_opset13_${counter++}`;
      const [flat, soft, shape] = [t('flat'), t('out'), t('shape')];
      const int = (n: string, i: number) => ({ name: n, type: INT, i });
      nodes.push(
        { opType: 'Flatten', name: t('Flatten'), input: [x], output: [flat], attribute: [int('axis', axis)] },
        { opType: op, name: node.name ?? '', input: [flat], output: [soft], attribute: [int('axis', 1)] },
        { opType: 'Shape', name: t('Shape'), input: [x], output: [shape] },
        { opType: 'Reshape', name: t('Reshape'), input: [soft, shape], output: [y] },
      );
    } else {
      return `${op} '${name}' (opset ${from}) is not known to mean the same at opset 13`;
    }
  }
  graph.node = nodes;
  graph.initializer = initializers;
  return undefined;
}

/** A closed interval; either end may be infinite. */
export interface Interval {
  lo: number;
  hi: number;
}

/** Scalar value of a float constant (an initializer holding one element), or undefined. */
function scalarOf(initializers: ReadonlyMap<string, Onnx.ITensorProto>, name: string): number | undefined {
  const t = initializers.get(name);
  if (!t || t.dataType !== DT.FLOAT || (t.dims ?? []).reduce((a, b) => a * Number(b), 1) !== 1)
    return undefined;
  if (t.rawData && t.rawData.length === 4)
    return new DataView(Uint8Array.from(t.rawData).buffer).getFloat32(0, true);
  return t.floatData?.[0];
}

/**
 * For each tensor whose every consumer saturates (its output stops changing outside some interval),
 * the hull of those intervals: clamping the tensor to it changes nothing downstream, so quantizing it
 * over that interval only (as onnxruntime does when it folds Relu/Clip into the producer's output
 * range) spends no int8 levels on values the consumers flatten anyway. Recognized consumers: Relu,
 * Clip with constant bounds, HardSigmoid, HardSwish, and HardSwish spelled out as
 * `Mul(t, Clip(Add(t, c), 0, b))` (exporters that predate the op, e.g. Paddle's) or as
 * `Mul(t, HardSigmoid(t))` (kiln's own rewrite of the former, see fold-affine.ts).
 */
export function saturationIntervals(graph: Onnx.IGraphProto): Map<string, Interval> {
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const consumers = new Map<string, Node[]>();
  for (const node of graph.node ?? [])
    for (const input of new Set(node.input ?? [])) {
      if (input) consumers.set(input, [...(consumers.get(input) ?? []), node]);
    }
  const outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const clipBounds = (node: Node): Interval | undefined => {
    if (node.opType !== 'Clip' || (node.domain ?? '') !== '') return undefined;
    const inputs = node.input ?? [];
    const lo = inputs[1] ? scalarOf(initializers, inputs[1]) : (attr(node, 'min')?.f ?? -Infinity);
    const hi = inputs[2] ? scalarOf(initializers, inputs[2]) : (attr(node, 'max')?.f ?? Infinity);
    return lo === undefined || hi === undefined ? undefined : { lo, hi };
  };
  // Add(t, c) whose only use is a Clip: t saturates where t + c does.
  const addClip = (node: Node, t: string): { interval: Interval; clip: Node } | undefined => {
    if (node.opType !== 'Add' || (node.domain ?? '') !== '' || outputs.has(node.output?.[0] ?? '')) return;
    const [a, b] = node.input ?? [];
    const other = a === t ? b : b === t ? a : undefined;
    const c = other === undefined || other === t ? undefined : scalarOf(initializers, other);
    const uses = consumers.get(node.output?.[0] ?? '') ?? [];
    const clip = uses.length === 1 ? uses[0] : undefined;
    const bounds = clip && clipBounds(clip);
    if (c === undefined || !clip || !bounds || outputs.has(clip.output?.[0] ?? '')) return undefined;
    return { interval: { lo: bounds.lo - c, hi: bounds.hi - c }, clip };
  };
  const intervals = new Map<string, Interval>();
  for (const [t, uses] of consumers) {
    if (outputs.has(t) || initializers.has(t)) continue;
    const clips = new Map<string, Interval>();
    for (const use of uses) {
      const chain = addClip(use, t);
      const bounds = chain && clipBounds(chain.clip);
      if (chain && bounds?.lo === 0) clips.set(chain.clip.output?.[0] ?? '', chain.interval);
      // HardSigmoid(t) is 0 where t <= -beta/alpha, and so is t · HardSigmoid(t).
      const alpha = attr(use, 'alpha')?.f ?? 0.2;
      if (use.opType === 'HardSigmoid' && (use.domain ?? '') === '' && alpha > 0) {
        const lo = -(attr(use, 'beta')?.f ?? 0.5) / alpha;
        clips.set(use.output?.[0] ?? '', { lo, hi: Infinity });
      }
    }
    let hull: Interval | undefined;
    for (const use of uses) {
      let own: Interval | undefined;
      if ((use.domain ?? '') !== '') own = undefined;
      else if (use.opType === 'Relu') own = { lo: 0, hi: Infinity };
      else if (use.opType === 'Clip') own = clipBounds(use);
      else if (use.opType === 'HardSwish') own = { lo: -3, hi: Infinity };
      else if (use.opType === 'HardSigmoid') {
        const alpha = attr(use, 'alpha')?.f ?? 0.2;
        const beta = attr(use, 'beta')?.f ?? 0.5;
        own = alpha > 0 ? { lo: -beta / alpha, hi: (1 - beta) / alpha } : undefined;
      } else if (use.opType === 'Add') own = addClip(use, t)?.interval;
      else if (use.opType === 'Mul' && use.input?.length === 2) {
        // t · Clip(t + c, 0, b) is 0 wherever t + c <= 0; t · HardSigmoid(t) likewise.
        const other = use.input[0] === t ? use.input[1] : use.input[0];
        const chain = other === undefined ? undefined : clips.get(other);
        own = chain ? { lo: chain.lo, hi: Infinity } : undefined;
      }
      if (!own) {
        hull = undefined;
        break;
      }
      hull = hull ? { lo: Math.min(hull.lo, own.lo), hi: Math.max(hull.hi, own.hi) } : own;
    }
    if (hull && (hull.lo > -Infinity || hull.hi < Infinity)) intervals.set(t, hull);
  }
  return intervals;
}
