import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { collectHistograms } from '../../../src/backends/int8/activation-capture.js';
import { calibrate } from '../../../src/backends/int8/calibration.js';
import { quantizableTensors, quantizeQdq, quantizeWeight } from '../../../src/backends/int8/qdq-quantizer.js';
import { SeededRandom } from '../../../src/core/seeded-random.js';
import { onnxBuilders } from '../../helpers/onnx-builders.js';
import type { HostTensor } from '../../../src/core/tensor.js';

const { onnx } = onnxProto;
const { INT, FLOAT: FLOAT_ATTR, TENSOR } = onnx.AttributeProto.AttributeType;

const { floats, tensor, info, node } = onnxBuilders(11);

/**
 * x [1,2,8,8] → Conv (weights in a Constant node, bias an initializer) → Relu → Conv (initializer
 * weights) → ConvTranspose (unsupported: stays fp32) → Flatten → MatMul (Constant weights) → Clip → y.
 * At opset 9 Clip carries min/max as attributes, so the per-channel upgrade to 13 must rewrite it.
 */
function buildModel(opset: number, extra: Onnx.INodeProto[] = []): Uint8Array {
  const clip =
    opset < 11
      ? node(
          'Clip',
          ['mm'],
          ['clipped'],
          [
            { name: 'min', type: FLOAT_ATTR, f: -0.5 },
            { name: 'max', type: FLOAT_ATTR, f: 0.5 },
          ],
        )
      : node('Clip', ['mm', 'lo', 'hi'], ['clipped']);
  const graph: Onnx.IGraphProto = {
    name: 'qdq_fixture',
    input: [info('x', [1, 2, 8, 8])],
    output: [info(extra.length ? 'z' : 'y', [1, 3])],
    initializer: [
      tensor('b1', [4], floats(4, 0.1)),
      tensor('w2', [4, 4, 3, 3], floats(144, 0.3)),
      tensor('wt', [4, 1, 2, 2], floats(16, 0.5)),
      tensor('lo', [], [-0.5]),
      tensor('hi', [], [0.5]),
    ],
    node: [
      node(
        'Constant',
        [],
        ['w1'],
        [{ name: 'value', type: TENSOR, t: tensor('', [4, 2, 3, 3], floats(72, 0.5)) }],
      ),
      node(
        'Conv',
        ['x', 'w1', 'b1'],
        ['c1'],
        [{ name: 'pads', type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 1, 1, 1] }],
      ),
      node('Relu', ['c1'], ['r1']),
      node(
        'Conv',
        ['r1', 'w2'],
        ['c2'],
        [{ name: 'strides', type: onnx.AttributeProto.AttributeType.INTS, ints: [2, 2] }],
      ),
      node('ConvTranspose', ['c2', 'wt'], ['ct'], [{ name: 'group', type: INT, i: 4 }]),
      node('Flatten', ['ct'], ['flat']),
      node(
        'Constant',
        [],
        ['w3'],
        [{ name: 'value', type: TENSOR, t: tensor('', [64, 3], floats(192, 0.2)) }],
      ),
      node('MatMul', ['flat', 'w3'], ['mm']),
      clip,
      ...extra,
    ],
  };
  if (!extra.length) graph.node?.push(node('Identity', ['clipped'], ['y']));
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: opset }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

const samples = (count: number, seed: number): Array<Record<string, HostTensor>> => {
  const r = new SeededRandom(seed);
  return Array.from({ length: count }, () => ({
    x: { dtype: 'float32', shape: [1, 2, 8, 8], data: Float32Array.from({ length: 128 }, () => r.normal()) },
  }));
};

async function run(bytes: Uint8Array, input: Record<string, HostTensor>, level: 'disabled' | 'all') {
  const session = await ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: level,
    logSeverityLevel: 3,
  });
  const x = input.x as HostTensor;
  const out = await session.run({ x: new ort.Tensor('float32', x.data, x.shape) });
  await session.release();
  return out[session.outputNames[0] as string]?.data as Float32Array;
}

async function quantized(bytes: Uint8Array) {
  const names = quantizableTensors(bytes);
  const histograms = await collectHistograms(bytes, names, samples(16, 1));
  return { names, result: quantizeQdq(bytes, calibrate(histograms, 'minmax', 99.99, 'uint8')) };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let [dot, na, nb] = [0, 0, 0];
  a.forEach((v, i) => {
    dot += v * (b[i] as number);
    na += v * v;
    nb += (b[i] as number) ** 2;
  });
  return dot / Math.sqrt(na * nb);
}

function opsOf(bytes: Uint8Array): Onnx.INodeProto[] {
  return onnx.ModelProto.decode(bytes).graph?.node ?? [];
}

describe('quantizeQdq', () => {
  it.each([13, 9])(
    'quantizes Constant-node and initializer weights per channel (opset %i)',
    async (opset) => {
      const model = buildModel(opset);
      const { names, result } = await quantized(model);
      expect(names).toEqual(expect.arrayContaining(['x', 'c1', 'r1', 'c2', 'flat', 'mm']));
      expect(result.quantizedNodes).toBe(3);
      expect(result.perChannel).toBe(true);
      expect(result.opset).toBe(13);
      const nodes = opsOf(result.model);
      const axisOf = (n: Onnx.INodeProto) => n.attribute?.find((a) => a.name === 'axis')?.i;
      const weightDq = nodes.filter((n) => n.opType === 'DequantizeLinear' && axisOf(n) !== undefined);
      // Two Conv weights (axis 0), their one bias (axis 0) and the MatMul weight (axis 1).
      expect(weightDq.map((n) => [n.input?.[0], Number(axisOf(n))])).toEqual(
        expect.arrayContaining([
          ['w1_quantized', 0],
          ['w2_quantized', 0],
          ['b1_quantized', 0],
          ['w3_quantized', 1],
        ]),
      );
      expect(nodes.some((n) => n.opType === 'Constant')).toBe(false);
      // Int8 error, not a broken graph: the outputs point the same way as fp32, unfused and fused.
      for (const input of samples(4, 99)) {
        const reference = await run(model, input, 'disabled');
        for (const level of ['disabled', 'all'] as const) {
          expect(cosine(reference, await run(result.model, input, level))).toBeGreaterThan(0.97);
        }
      }
    },
  );

  it('leaves an unsupported op in fp32 and reports it', async () => {
    const { result } = await quantized(buildModel(13));
    expect(result.skipped).toEqual([
      {
        node: 'ConvTranspose_ct',
        op: 'ConvTranspose',
        reason: "op ConvTranspose is not supported by kiln's int8 quantizer",
      },
    ]);
    expect(opsOf(result.model).find((n) => n.opType === 'ConvTranspose')?.input).toEqual([
      'c2_DequantizeLinear_Output',
      'wt',
    ]);
  });

  it('reports nodes whose tensors were not calibrated instead of failing', () => {
    const result = quantizeQdq(buildModel(13), { method: 'minmax', activations: {} });
    expect(result.quantizedNodes).toBe(0);
    expect(result.skipped.map((s) => s.reason)).toContain("no calibration for 'x'");
  });

  it('never crashes on an old model it cannot move to opset 13: everything stays fp32, reported', async () => {
    const upsample = node(
      'Upsample',
      ['clipped', 'scales'],
      ['z'],
      [
        {
          name: 'mode',
          type: onnx.AttributeProto.AttributeType.STRING,
          s: new TextEncoder().encode('nearest'),
        },
      ],
    );
    const bytes = buildModel(9, [upsample]);
    const result = quantizeQdq(bytes, { method: 'minmax', activations: {} });
    expect(result.quantizedNodes).toBe(0);
    const names = quantizableTensors(bytes);
    const calibration = Object.fromEntries(
      names.map((n) => [n, { min: -1, max: 1, scale: 2 / 255, zeroPoint: 128 }]),
    );
    const refused = quantizeQdq(bytes, { method: 'minmax', activations: calibration });
    expect(refused.quantizedNodes).toBe(0);
    expect(refused.opset).toBe(9);
    expect(refused.skipped.find((s) => s.op === 'Conv')?.reason).toMatch(
      /per-channel weights need opset 13: Upsample/,
    );
  });
});

describe('quantizeWeight', () => {
  it('scales each output channel by its own max |w| / 127', () => {
    const { q, scales } = quantizeWeight(Float32Array.from([1, -0.5, 0.015, -0.02]), [2, 2], 0);
    expect(Array.from(scales)).toEqual([Math.fround(1 / 127), Math.fround(0.02 / 127)]);
    expect(Array.from(q)).toEqual([127, -64, 95, -127]);
  });

  it('gives an all-zero channel scale 1', () => {
    expect(Array.from(quantizeWeight(new Float32Array(4), [2, 2], 1).scales)).toEqual([1, 1]);
  });
});

describe('saturationIntervals', () => {
  it('narrows Relu, HardSigmoid and spelled-out HardSwish inputs, not tensors with other consumers', async () => {
    const { saturationIntervals } = await import('../../../src/backends/int8/qdq-graph.js');
    const scalar = (name: string, v: number) => ({ name, dataType: 1, dims: [], floatData: [v] });
    const graph = {
      initializer: [scalar('three', 3), scalar('zero', 0), scalar('six', 6)],
      node: [
        { opType: 'Relu', input: ['a'], output: ['ra'] },
        { opType: 'HardSigmoid', input: ['b'], output: ['hb'], attribute: [{ name: 'alpha', f: 0.25 }] },
        { opType: 'Add', input: ['c', 'three'], output: ['c3'] },
        { opType: 'Clip', input: ['c3', 'zero', 'six'], output: ['cc'] },
        { opType: 'Mul', input: ['c', 'cc'], output: ['hc'] },
        { opType: 'Relu', input: ['d'], output: ['rd'] },
        { opType: 'Sigmoid', input: ['d'], output: ['sd'] },
      ],
      output: [{ name: 'out' }],
    };
    const intervals = saturationIntervals(graph);
    expect(intervals.get('a')).toEqual({ lo: 0, hi: Infinity });
    expect(intervals.get('b')).toEqual({ lo: -2, hi: 2 });
    expect(intervals.get('c')).toEqual({ lo: -3, hi: Infinity });
    expect(intervals.has('d')).toBe(false);
  });
});
