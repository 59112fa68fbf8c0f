/**
 * An exact pre-quantization rewrite: per-channel affine ops around a Conv (PP-LCNetV3's learnable
 * affine blocks, exported as scalar `Mul`/`Add` after each Conv and after each activation) folded
 * into the Conv's weights and bias. ORT's own Conv+Mul/Add fusion leaves them alone (constant first,
 * shape [1]), so in an int8 graph each stays an fp32 elementwise pass between QLinearConvs.
 *
 * - After a Conv: `Conv → Mul(c) / Add(c) / Sub(x, c) / Div(x, c)` whose constant is a scalar or
 *   per-output-channel ([C,1,1], [1,C,1,1]) and the Conv output has no other consumer.
 * - Before a Conv without padding: `Mul(c) / Add(c) / Sub(x, c) / Div(x, c) → Conv` with a scalar or
 *   per-input-channel constant whose result feeds only that Conv. With padding the padded zeros
 *   would not be shifted, so such Convs are left alone.
 *
 * Exact up to float rounding (weights and bias are recomputed in float64, stored as float32).
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { elemTypes } from './qdq-graph.js';
import { namesRead, namesReadBySubgraphs } from '../model/graph-reads.js';
import { uniqueNamer } from '../model/unique-names.js';
import { floatValues, prepareModel } from './qdq-tensors.js';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;

type Node = Onnx.INodeProto;

export interface FoldResult {
  model: Uint8Array;
  /** Elementwise nodes folded into a following or preceding Conv. */
  folded: number;
  /** Spelled-out HardSwishes rewritten as `x · HardSigmoid(x)`. */
  hardSwishes: number;
}

const AFFINE = new Set(['Mul', 'Add', 'Sub', 'Div']);

/** Folds constant affine ops into adjacent Convs; see the module comment for the exact rules. */
export function foldAffine(source: Onnx.IModelProto | Uint8Array): FoldResult {
  const model = prepareModel(source);
  const graph = model.graph as Onnx.GraphProto;
  const types = elemTypes(graph);
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  // A value a subgraph reads from this graph is as fixed as a graph output: folding must not rename it.
  const outputs = new Set([
    ...(graph.output ?? []).map((o) => o.name ?? ''),
    ...namesReadBySubgraphs(graph.node ?? []),
  ]);
  let nodes = [...(graph.node ?? [])];
  const unique = uniqueNamer(graph);
  const consumersOf = () => {
    const map = new Map<string, Node[]>();
    for (const node of nodes)
      for (const input of node.input ?? []) if (input) map.set(input, [...(map.get(input) ?? []), node]);
    return map;
  };
  const setFloat = (base: string, dims: number[], values: Float64Array) => {
    const name = unique(base);
    const data = Float32Array.from(values);
    inits.set(
      name,
      onnx.TensorProto.create({ name, dataType: DT.FLOAT, dims, rawData: new Uint8Array(data.buffer) }),
    );
    return name;
  };

  const scalar = (name: string | undefined) => {
    const t = inits.get(name ?? '');
    const values = t && floatValues(t);
    return values?.length === 1 ? values[0] : undefined;
  };
  /**
   * `Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)` (HardSwish as exporters that predate the op write it)
   * → `Mul(x, HardSigmoid(x, 1/6, 0.5))`: two elementwise passes instead of four, same opset.
   */
  function shortenHardSwish(): number {
    const consumers = consumersOf();
    const only = (name: string | undefined) => {
      const uses = consumers.get(name ?? '') ?? [];
      return uses.length === 1 && !outputs.has(name ?? '') ? uses[0] : undefined;
    };
    const replaced = new Map<Node, Node[]>();
    const dropped = new Set<Node>();
    for (const add of nodes) {
      const [a, b] = add.input ?? [];
      if (add.opType !== 'Add' || (add.domain ?? '') !== '' || a === undefined || b === undefined) continue;
      const x = scalar(b) === 3 ? a : scalar(a) === 3 ? b : undefined;
      const clip = only(add.output?.[0]);
      if (x === undefined || inits.has(x) || !clip || clip.opType !== 'Clip' || (clip.domain ?? '') !== '') {
        continue;
      }
      const bound = (i: number, key: string) =>
        clip.input?.[i] ? scalar(clip.input[i]) : clip.attribute?.find((t) => t.name === key)?.f;
      const mul = only(clip.output?.[0]);
      const div = only(mul?.output?.[0]);
      const clipOut = clip.output?.[0];
      if (bound(1, 'min') !== 0 || bound(2, 'max') !== 6 || !mul || !div || dropped.has(mul)) continue;
      const muls = mul.input ?? [];
      const pair = muls.length === 2 && muls.includes(x) && muls.includes(clipOut ?? '') && x !== clipOut;
      if (mul.opType !== 'Mul' || !pair || div.opType !== 'Div' || div.input?.[0] !== mul.output?.[0])
        continue;
      if (scalar(div.input?.[1]) !== 6 || types.get(x) !== DT.FLOAT) continue;
      const gate = unique(`${div.output?.[0]}_hardsigmoid`);
      const float = (name: string, f: number) => ({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f });
      replaced.set(div, [
        {
          opType: 'HardSigmoid',
          name: unique(`${gate}_node`),
          input: [x],
          output: [gate],
          attribute: [float('alpha', 1 / 6), float('beta', 0.5)],
        },
        { opType: 'Mul', name: div.name ?? '', input: [x, gate], output: [div.output?.[0] ?? ''] },
      ]);
      for (const n of [add, clip, mul]) dropped.add(n);
      types.set(gate, DT.FLOAT);
    }
    nodes = nodes.flatMap((n) => replaced.get(n) ?? (dropped.has(n) ? [] : [n]));
    return replaced.size;
  }

  /** The Conv's float weight and bias (zeros when absent) in float64, or undefined. */
  const convParams = (conv: Node) => {
    const inputs = conv.input ?? [];
    const w = inits.get(inputs[1] ?? '');
    const wValues = w && floatValues(w);
    if (!w || !wValues || (conv.domain ?? '') !== '') return undefined;
    const dims = (w.dims ?? []).map(Number);
    const cout = dims[0] ?? 0;
    let bias = new Float64Array(cout);
    if (inputs[2]) {
      const b = inits.get(inputs[2]);
      const bValues = b && floatValues(b);
      if (!bValues || bValues.length !== cout) return undefined;
      bias = Float64Array.from(bValues);
    }
    const group = Number(conv.attribute?.find((a) => a.name === 'group')?.i ?? 1);
    return { w: Float64Array.from(wValues), dims, bias, group, wName: w.name ?? 'W' };
  };

  /**
   * The constant operand of an affine node applied to `x` as one value per channel of `channels`
   * along axis 1 of a rank-`rank` tensor, as (scale, shift) such that node(x) = scale·x + shift.
   */
  const affineOf = (node: Node, x: string, rank: number, channels: number) => {
    const op = node.opType ?? '';
    const inputs = node.input ?? [];
    if (!AFFINE.has(op) || (node.domain ?? '') !== '' || inputs.length !== 2) return undefined;
    const at = inputs[0] === x ? 1 : inputs[1] === x ? 0 : -1;
    if (at < 0 || inputs[at] === x) return undefined;
    if ((op === 'Sub' || op === 'Div') && at !== 1) return undefined;
    const c = inits.get(inputs[at] ?? '');
    const values = c && floatValues(c);
    if (!c || !values || values.length === 0 || types.get(node.output?.[0] ?? '') !== DT.FLOAT)
      return undefined;
    const dims = (c.dims ?? []).map(Number);
    if (dims.length > rank) return undefined;
    if (values.length !== 1) {
      const ok = dims.every((d, i) => (i + rank - dims.length === 1 ? d === channels : d === 1));
      if (!ok || values.length !== channels) return undefined;
    }
    const value = (ch: number) => values[values.length === 1 ? 0 : ch] as number;
    const scale = new Float64Array(channels).fill(1);
    const shift = new Float64Array(channels);
    for (let ch = 0; ch < channels; ch++) {
      if (op === 'Mul') scale[ch] = value(ch);
      else if (op === 'Div') scale[ch] = 1 / value(ch);
      else if (op === 'Add') shift[ch] = value(ch);
      else shift[ch] = -value(ch);
    }
    if ([...scale, ...shift].some((v) => !Number.isFinite(v))) return undefined;
    return { scale, shift };
  };

  const hardSwishes = shortenHardSwish();
  let folded = 0;
  for (let changed = true; changed;) {
    changed = false;
    const consumers = consumersOf();
    const producer = new Map(nodes.flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
    for (const conv of nodes) {
      if (conv.opType !== 'Conv') continue;
      const params = convParams(conv);
      if (!params) continue;
      const { w, dims, bias, group } = params;
      const rank = dims.length;
      const cout = dims[0] ?? 0;
      const cinPerGroup = dims[1] ?? 0;
      const perOut = w.length / Math.max(1, cout);
      const kernel = perOut / Math.max(1, cinPerGroup);
      const out = conv.output?.[0] ?? '';
      const uses = consumers.get(out) ?? [];
      const next = uses.length === 1 && !outputs.has(out) ? uses[0] : undefined;
      const after = next && affineOf(next, out, rank, cout);
      if (next && after) {
        for (let o = 0; o < cout; o++) {
          const s = after.scale[o] as number;
          for (let i = o * perOut; i < (o + 1) * perOut; i++) w[i] = (w[i] as number) * s;
          bias[o] = (bias[o] as number) * s + (after.shift[o] as number);
        }
        conv.output = [next.output?.[0] ?? ''];
        nodes = nodes.filter((n) => n !== next);
      } else {
        const x = conv.input?.[0] ?? '';
        const prev = producer.get(x);
        const pads = conv.attribute?.find((a) => a.name === 'pads')?.ints ?? [];
        const autoPad = conv.attribute?.find((a) => a.name === 'auto_pad')?.s;
        const autoPadText = autoPad ? new TextDecoder().decode(autoPad) : 'NOTSET';
        const unpadded =
          pads.every((p) => Number(p) === 0) && (autoPadText === 'NOTSET' || autoPadText === 'VALID');
        const xUses = consumers.get(x) ?? [];
        const source = prev?.input?.find((name) => name && !inits.has(name));
        const before =
          prev && unpadded && xUses.length === 1 && !outputs.has(x) && source !== undefined
            ? affineOf(prev, source, rank, cinPerGroup * group)
            : undefined;
        if (!prev || !before || source === undefined) continue;
        // conv(s·x + a) = Σ W·s·x + (b + Σ W·a), per input channel of each output's group.
        const groupSize = cout / group;
        for (let o = 0; o < cout; o++) {
          const g = Math.floor(o / groupSize);
          for (let ci = 0; ci < cinPerGroup; ci++) {
            const c = g * cinPerGroup + ci;
            const [s, a] = [before.scale[c] as number, before.shift[c] as number];
            for (let k = 0; k < kernel; k++) {
              const i = o * perOut + ci * kernel + k;
              bias[o] = (bias[o] as number) + (w[i] as number) * a;
              w[i] = (w[i] as number) * s;
            }
          }
        }
        conv.input = [source, ...(conv.input ?? []).slice(1)];
        nodes = nodes.filter((n) => n !== prev);
      }
      const inputs = [...(conv.input ?? [])];
      const base = (name: string) => `${name.replace(/_folded(_\d+)?$/, '')}_folded`;
      inputs[1] = setFloat(base(params.wName), dims, w);
      inputs[2] = setFloat(base(conv.input?.[2] || `${nodeLabel(conv)}_bias`), [cout], bias);
      conv.input = inputs;
      folded++;
      changed = true;
      break;
    }
  }
  graph.node = nodes;
  const used = namesRead(nodes);
  graph.initializer = [...inits.values()].filter((t) => used.has(t.name ?? ''));
  // Old exporters list initializers as graph inputs too; drop the ones folded away.
  const kept = new Set(graph.initializer.map((t) => t.name ?? ''));
  graph.input = (graph.input ?? []).filter((i) => kept.has(i.name ?? '') || !inits.has(i.name ?? ''));
  return { model: onnx.ModelProto.encode(model).finish(), folded, hardSwishes };
}

function nodeLabel(node: Node): string {
  return node.name || node.output?.[0] || 'Conv';
}
