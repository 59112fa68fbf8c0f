import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { DET, textImage } from '../../../bench/int8.js';
import { calibrationGraph } from '../../../src/backends/int8/calibration-graph.js';
import { foldAffine } from '../../../src/backends/int8/fold-affine.js';
import { elemTypes, saturationIntervals } from '../../../src/backends/int8/qdq-graph.js';
import { SeededRandom } from '../../../src/core/seeded-random.js';
import { onnxBuilders } from '../../helpers/onnx-builders.js';

const { onnx } = onnxProto;
const { FLOAT } = onnx.TensorProto.DataType;
const { INT, INTS } = onnx.AttributeProto.AttributeType;

const { floats, tensor, info, node } = onnxBuilders(5);
const pads = (p: number) => ({ name: 'pads', type: INTS, ints: [p, p, p, p] });

function encode(nodes: Onnx.INodeProto[], initializer: Onnx.ITensorProto[], outputs: string[]): Uint8Array {
  const graph: Onnx.IGraphProto = {
    name: 'fold_fixture',
    input: [info('x', [1, 4, 6, 6])],
    output: outputs.map((o) => info(o, [])),
    initializer,
    node: nodes,
  };
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({ irVersion: 7, opsetImport: [{ domain: '', version: 13 }], graph }),
  ).finish();
}

/**
 * x → Conv 3×3 (pads 1) → Mul([1] const first) → Add([8,1,1]) → HardSwish spelled out → Mul([1,8,1,1])
 * → Add(scalar) → grouped Conv 1×1 (no pads) → Div(scalar) → y: a PP-LCNetV3 block.
 */
function labBlock(): Uint8Array {
  return encode(
    [
      node('Conv', ['x', 'w1', 'b1'], ['c1'], [pads(1)]),
      node('Mul', ['s1', 'c1'], ['m1']),
      node('Add', ['m1', 'a1'], ['t']),
      node('Add', ['t', 'three'], ['t3']),
      node('Clip', ['t3', 'zero', 'six'], ['clip']),
      node('Mul', ['t', 'clip'], ['hs6']),
      node('Div', ['hs6', 'six'], ['hs']),
      node('Mul', ['hs', 's2'], ['m2']),
      node('Add', ['a2', 'm2'], ['lab']),
      node('Conv', ['lab', 'w2', 'b2'], ['c2'], [{ name: 'group', type: INT, i: 2 }]),
      node('Div', ['c2', 'd2'], ['y']),
    ],
    [
      tensor('w1', [8, 4, 3, 3], floats(288, 0.5)),
      tensor('b1', [8], floats(8, 0.2)),
      tensor('s1', [1], [1.7]),
      tensor('a1', [8, 1, 1], floats(8, 1)),
      tensor('three', [], [3]),
      tensor('zero', [], [0]),
      tensor('six', [], [6]),
      tensor('s2', [1, 8, 1, 1], floats(8, 2)),
      tensor('a2', [], [-0.4]),
      tensor('w2', [6, 4, 1, 1], floats(24, 0.5)),
      tensor('b2', [6], floats(6, 0.2)),
      tensor('d2', [], [3]),
    ],
    ['y'],
  );
}

async function outputs(bytes: Uint8Array, x: Float32Array, shape: number[]) {
  const session = await ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: 'disabled',
    logSeverityLevel: 3,
  });
  const out = await session.run({ [session.inputNames[0] as string]: new ort.Tensor('float32', x, shape) });
  await session.release();
  return session.outputNames.map((name) => out[name]?.data as Float32Array);
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);

const opCounts = (bytes: Uint8Array) => {
  const graph = onnx.ModelProto.decode(bytes).graph as Onnx.GraphProto;
  const counts = new Map<string, number>();
  for (const n of graph.node) counts.set(n.opType ?? '', (counts.get(n.opType ?? '') ?? 0) + 1);
  return counts;
};

describe('foldAffine', () => {
  it('folds constant Mul/Add/Div around Convs into their weights, exactly', async () => {
    const source = labBlock();
    const { model, folded, hardSwishes } = foldAffine(source);
    // Mul s1, Add a1, Div d2 after the Convs; Mul s2, Add a2 before the unpadded one.
    expect(folded).toBe(5);
    expect(hardSwishes).toBe(1);
    const graph = onnx.ModelProto.decode(model).graph as Onnx.GraphProto;
    expect(graph.node.map((n) => n.opType)).toEqual(['Conv', 'HardSigmoid', 'Mul', 'Conv']);
    expect(graph.node.at(-1)?.output).toEqual(['y']);
    const r = new SeededRandom(9);
    for (let i = 0; i < 3; i++) {
      const x = Float32Array.from({ length: 144 }, () => r.normal() * 2);
      const [[a], [b]] = [await outputs(source, x, [1, 4, 6, 6]), await outputs(model, x, [1, 4, 6, 6])];
      expect(maxAbsDiff(a as Float32Array, b as Float32Array)).toBeLessThan(1e-5);
    }
  });

  it('leaves a Conv whose output has another consumer, and affine ops before a padded Conv', () => {
    const source = encode(
      [
        node('Mul', ['x', 's'], ['xs']),
        node('Conv', ['xs', 'w', 'b'], ['c'], [pads(1)]),
        node('Mul', ['c', 's'], ['y']),
        node('Relu', ['c'], ['r']),
      ],
      [tensor('w', [4, 4, 3, 3], floats(144)), tensor('b', [4], floats(4)), tensor('s', [1], [2])],
      ['y', 'r'],
    );
    const { model, folded } = foldAffine(source);
    expect(folded).toBe(0);
    expect(opCounts(model).get('Mul')).toBe(2);
  });

  it('shrinks the real PP-OCR det graph and keeps its output', async () => {
    const shape = [1, 3, 384, 384];
    const basic = await calibrationGraph(DET, { x: shape });
    const { model, folded, hardSwishes } = foldAffine(basic);
    const [before, after] = [opCounts(basic), opCounts(model)];
    const elementwise = (c: Map<string, number>) =>
      ['Mul', 'Add', 'Div', 'Clip'].reduce((sum, op) => sum + (c.get(op) ?? 0), 0);
    console.log(
      `PP-OCR det: ${folded} affine ops folded, ${hardSwishes} HardSwishes shortened, ` +
        `fp32 Mul/Add/Div/Clip ${elementwise(before)} → ${elementwise(after)}`,
    );
    expect(folded).toBeGreaterThan(60);
    expect(after.get('Conv')).toBe(before.get('Conv'));
    expect(elementwise(after)).toBeLessThan(elementwise(before) / 2);
    for (const seed of [1, 2]) {
      const x = textImage(seed, shape).x?.data as Float32Array;
      const [[a], [b]] = [await outputs(basic, x, shape), await outputs(model, x, shape)];
      expect(maxAbsDiff(a as Float32Array, b as Float32Array)).toBeLessThan(5e-5);
    }
  }, 60_000);

  it('keeps the consumer range of a tensor feeding x · HardSigmoid(x)', () => {
    const { model } = foldAffine(labBlock());
    const graph = onnx.ModelProto.decode(model).graph as Onnx.GraphProto;
    const conv = graph.node[0]?.output?.[0] as string;
    expect(elemTypes(graph).get(conv)).toBe(FLOAT);
    const interval = saturationIntervals(graph).get(conv);
    expect(interval?.lo).toBeCloseTo(-3, 5);
    expect(interval?.hi).toBe(Infinity);
  });
});

describe('foldAffine beside control flow', () => {
  it('leaves a Conv output an If branch reads by name unfolded, so the branch still finds it', async () => {
    const { GRAPH } = onnx.AttributeProto.AttributeType;
    const branch = (name: string, from: string): Onnx.IGraphProto => ({
      name,
      node: [node('Identity', [from], [`${name}_y`])],
      output: [info(`${name}_y`, [1, 8, 6, 6])],
    });
    const cond = {
      name: 'cond',
      type: { tensorType: { elemType: onnx.TensorProto.DataType.BOOL, shape: { dim: [] } } },
    };
    const graph: Onnx.IGraphProto = {
      name: 'if_reads_conv',
      input: [info('x', [1, 4, 6, 6]), cond],
      output: [info('y', [1, 8, 6, 6])],
      initializer: [
        tensor('w1', [8, 4, 3, 3], floats(288, 0.5)),
        tensor('b1', [8], floats(8, 0.2)),
        tensor('s1', [1], [1.7]),
      ],
      node: [
        node('Conv', ['x', 'w1', 'b1'], ['c1'], [pads(1)]),
        node('Mul', ['c1', 's1'], ['m1']),
        node(
          'If',
          ['cond'],
          ['y'],
          [
            { name: 'then_branch', type: GRAPH, g: branch('then', 'c1') },
            { name: 'else_branch', type: GRAPH, g: branch('else', 'm1') },
          ],
        ),
      ],
    };
    const bytes = onnx.ModelProto.encode(
      onnx.ModelProto.create({ irVersion: 7, opsetImport: [{ domain: '', version: 13 }], graph }),
    ).finish();
    const result = foldAffine(bytes);
    expect(result.folded).toBe(0);
    const x = new ort.Tensor('float32', Float32Array.from(floats(144)), [1, 4, 6, 6]);
    for (const branchTaken of [true, false]) {
      const feeds = { x, cond: new ort.Tensor('bool', Uint8Array.from([branchTaken ? 1 : 0]), []) };
      const [want, got] = await Promise.all(
        [bytes, result.model].map(async (model) => {
          const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled' });
          const y = (await session.run(feeds)).y?.data as Float32Array;
          await session.release();
          return [...y];
        }),
      );
      expect(got).toEqual(want);
    }
  });
});
