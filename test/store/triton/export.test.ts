import { mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors.js';
import { acquireFileLock } from '../../../src/core/io/file-lock.js';
import type { HostTensor } from '../../../src/core/tensor.js';
import { exportTritonRepository } from '../../../src/store/triton/export.js';
import { rawTensorBytes } from '../../../src/store/triton/signature.js';
import { parseTritonConfig } from '../../helpers/pbtxt-parse.js';
import { treeFiles, writeFakeRelease } from '../../helpers/triton-fixture.js';
import type { FakeArtifact } from '../../helpers/triton-fixture.js';

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const f32 = (shape: number[], seed: number): HostTensor => ({
  dtype: 'float32',
  shape,
  data: Float32Array.from({ length: count(shape) }, (_, i) => seed + i / 8),
});
const i64 = (shape: number[], seed: number): HostTensor => ({
  dtype: 'int64',
  shape,
  data: BigInt64Array.from({ length: count(shape) }, (_, i) => BigInt(seed * 100 + i)),
});
const bool = (shape: number[]): HostTensor => ({ dtype: 'bool', shape, data: new Uint8Array(count(shape)) });

const key = (c: string) => c.repeat(64);

function cpuArtifact(samples: number, overrides: Partial<FakeArtifact> = {}): FakeArtifact {
  return {
    model: 'ocr-cls',
    key: key('a'),
    profile: 'b1',
    precision: 'fp32',
    backend: 'onnxruntime-cpu',
    hardware: { kind: 'cpu', arch: 'x64', isa: ['avx2', 'fma'] },
    profileShapes: { shapes: { x: [1, 3, 2, 2], 'ids:0': [1, 2] } },
    engineFile: 'engine.ort',
    engineBytes: new TextEncoder().encode('ORT engine bytes'),
    samples: Array.from({ length: samples }, (_, s) => ({
      inputs: { x: f32([1, 3, 2, 2], s), 'ids:0': i64([1, 2], s) },
      outputs: { y: f32([1, 2], s + 0.5), ok: bool([1]) },
    })),
    ...overrides,
  };
}

function trtArtifact(
  k: string,
  cc: string,
  precision: 'fp32' | 'fp16' = 'fp32',
  tensorrt = '10.3.0',
): FakeArtifact {
  return {
    ...cpuArtifact(1),
    key: k,
    precision,
    backend: 'tensorrt',
    hardware: { kind: 'gpu', computeCapability: cc, driverMajor: 550, cuda: '12.4', tensorrt },
    engineFile: 'engine.plan',
    engineBytes: new TextEncoder().encode(`plan for sm${cc} ${precision}`),
  };
}

let tmp: string;
let release: string;
let repository: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-triton-'));
  release = path.join(tmp, 'releases', 'ocr-cls', '1.2.0');
  repository = path.join(tmp, 'triton');
});

async function config(model: string): Promise<Record<string, unknown>> {
  return parseTritonConfig(await readFile(path.join(repository, model, 'config.pbtxt'), 'utf8'));
}

describe('exportTritonRepository: an onnxruntime-cpu release', () => {
  it("sweeps a crashed export's staging folder and refuses to run beside a live export", async () => {
    await writeFakeRelease(release, '1.2.0', [cpuArtifact(1)]);
    // What a SIGKILLed export leaves: Triton would try to load this folder as a model.
    await mkdir(path.join(repository, '.kiln-tmp-crashed', 'ocr-cls_b1_fp32'), { recursive: true });
    await exportTritonRepository({ release, repository });
    expect(await readdir(repository)).toEqual(['ocr-cls_b1_fp32']);

    const held = await acquireFileLock(path.join(repository, '.kiln-export.lock'), 'kiln triton export');
    try {
      await expect(exportTritonRepository({ release, repository })).rejects.toThrow(
        /is exporting into this Triton repository; try again when it is done/,
      );
    } finally {
      await held.release();
    }
  });

  it('writes config.pbtxt, the ORT engine as model.ort and at most four warmup samples', async () => {
    const spec = cpuArtifact(5);
    await writeFakeRelease(release, '1.2.0', [spec]);
    const [model, ...rest] = await exportTritonRepository({ release, repository });
    expect(rest).toEqual([]);
    expect(model).toMatchObject({ name: 'ocr-cls_b1_fp32', version: 1, keys: [key('a')] });
    const warmupFiles = [0, 1, 2, 3].flatMap((i) => [
      `warmup/kiln-golden-${i}-ids_0`,
      `warmup/kiln-golden-${i}-x`,
    ]);
    expect(await treeFiles(repository)).toEqual(
      ['1/model.ort', 'config.pbtxt', ...warmupFiles].map((f) => `ocr-cls_b1_fp32/${f}`).sort(),
    );
    expect(await readdir(repository)).toEqual(['ocr-cls_b1_fp32']); // no staging folder left behind
    expect(await readFile(path.join(repository, 'ocr-cls_b1_fp32/1/model.ort'))).toEqual(
      Buffer.from(spec.engineBytes),
    );
    const parsed = await config('ocr-cls_b1_fp32');
    expect(parsed).toMatchObject({
      name: 'ocr-cls_b1_fp32',
      backend: 'onnxruntime',
      max_batch_size: 0,
      input: [
        { name: 'x', data_type: 'TYPE_FP32', dims: [1, 3, 2, 2] },
        { name: 'ids:0', data_type: 'TYPE_INT64', dims: [1, 2] },
      ],
      output: [
        { name: 'y', data_type: 'TYPE_FP32', dims: [1, 2] },
        { name: 'ok', data_type: 'TYPE_BOOL', dims: [1] },
      ],
      instance_group: [{ kind: 'KIND_CPU' }],
      default_model_filename: 'model.ort',
      parameters: { kiln_release: { string_value: '1.2.0' }, kiln_artifact_keys: { string_value: key('a') } },
    });
    expect(parsed.platform).toBeUndefined();
    expect(parsed.cc_model_filenames).toBeUndefined();
    const warmup = parsed.model_warmup as { name: string; batch_size: number; inputs: object }[];
    expect(warmup.map((w) => [w.name, w.batch_size])).toEqual(
      [0, 1, 2, 3].map((i) => [`kiln-golden-${i}`, 1]),
    );
    expect(warmup[3]?.inputs).toEqual({
      x: { data_type: 'TYPE_FP32', dims: [1, 3, 2, 2], input_data_file: 'kiln-golden-3-x' },
      'ids:0': { data_type: 'TYPE_INT64', dims: [1, 2], input_data_file: 'kiln-golden-3-ids_0' },
    });
    const idsBytes = await readFile(path.join(repository, 'ocr-cls_b1_fp32/warmup/kiln-golden-3-ids_0'));
    expect(idsBytes).toEqual(Buffer.from(rawTensorBytes(i64([1, 2], 3))));
    expect(new BigInt64Array(idsBytes.buffer, idsBytes.byteOffset, 2)).toEqual(
      BigInt64Array.from([300n, 301n]),
    );
  });

  it('adds the next version to an existing model, rewrites config.pbtxt and drops stale warmup files', async () => {
    await writeFakeRelease(release, '1.2.0', [cpuArtifact(4)]);
    await exportTritonRepository({ release, repository });
    const next = path.join(tmp, 'releases', 'ocr-cls', '1.3.0');
    await writeFakeRelease(next, '1.3.0', [cpuArtifact(2, { key: key('b') })]);
    const [model] = await exportTritonRepository({ release: next, repository });
    expect(model?.version).toBe(2);
    const files = await treeFiles(path.join(repository, 'ocr-cls_b1_fp32'));
    expect(files.filter((f) => f.startsWith('warmup/'))).toEqual([
      'warmup/kiln-golden-0-ids_0',
      'warmup/kiln-golden-0-x',
      'warmup/kiln-golden-1-ids_0',
      'warmup/kiln-golden-1-x',
    ]);
    expect(files.filter((f) => f.endsWith('model.ort'))).toEqual(['1/model.ort', '2/model.ort']);
    expect((await config('ocr-cls_b1_fp32')).parameters).toEqual({
      kiln_release: { string_value: '1.3.0' },
      kiln_artifact_keys: { string_value: key('b') },
    });
  });

  it('refuses a version that is there or older than the newest, and leaves the repository as it was', async () => {
    await writeFakeRelease(release, '1.2.0', [cpuArtifact(1)]);
    await exportTritonRepository({ release, repository, tritonVersion: 7 });
    const before = await treeFiles(repository);
    const configBefore = await readFile(path.join(repository, 'ocr-cls_b1_fp32/config.pbtxt'), 'utf8');
    await expect(exportTritonRepository({ release, repository, tritonVersion: 7 })).rejects.toThrow(
      /ocr-cls_b1_fp32\/7: Triton version 7 already exists, expected a new version \(next free: 8\)/,
    );
    await expect(exportTritonRepository({ release, repository, tritonVersion: 5 })).rejects.toThrow(
      /ocr-cls_b1_fp32\/5: Triton version 5 is older than version 7 there, expected a new version/,
    );
    expect(await treeFiles(repository)).toEqual(before);
    expect(await readdir(repository)).toEqual(['ocr-cls_b1_fp32']);
    expect(await readFile(path.join(repository, 'ocr-cls_b1_fp32/config.pbtxt'), 'utf8')).toBe(configBefore);
  });

  it('a ranged batch dim from 1: max_batch_size, dims without batch, dynamic batching, batch-1 warmup', async () => {
    const spec = cpuArtifact(0, {
      profileShapes: { min: { x: [1, 3] }, opt: { x: [2, 3] }, max: { x: [4, 3] } },
      samples: [2, 1, 4].map((b) => ({ inputs: { x: f32([b, 3], b) }, outputs: { y: f32([b, 2], b) } })),
    });
    await writeFakeRelease(release, '1.2.0', [spec]);
    await exportTritonRepository({ release, repository });
    const parsed = await config('ocr-cls_b1_fp32');
    expect(parsed).toMatchObject({ max_batch_size: 4, dynamic_batching: {} });
    expect(parsed.input).toEqual([{ name: 'x', data_type: 'TYPE_FP32', dims: [3] }]);
    expect(parsed.output).toEqual([{ name: 'y', data_type: 'TYPE_FP32', dims: [2] }]);
    const warmup = parsed.model_warmup as { batch_size: number; inputs: { x: { dims: number[] } } }[];
    expect(warmup.map((w) => [w.batch_size, w.inputs.x.dims])).toEqual([
      [1, [3]],
      [1, [3]],
      [1, [3]],
    ]);
    // One batch-1 request: the first row of the golden batch of 2, not all of it.
    const bytes = await readFile(path.join(repository, 'ocr-cls_b1_fp32/warmup/kiln-golden-0-x'));
    expect(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)).toEqual(
      f32([2, 3], 2).data.subarray(0, 3),
    );
  });

  // Each case: profile min/max of x, then (input shape, output shape) per golden sample.
  it.each([
    [
      'dim 0 ranges from 2, so batch 1 would not fit',
      [2, 3],
      [4, 3],
      [
        [
          [2, 3],
          [2, 2],
        ],
        [
          [4, 3],
          [4, 2],
        ],
      ],
    ],
    [
      'dim 0 is fixed and another dim ranges',
      [1, 3],
      [1, 6],
      [
        [
          [1, 3],
          [1, 2],
        ],
        [
          [1, 6],
          [1, 2],
        ],
      ],
    ],
    [
      'an output does not follow the batch',
      [1, 3],
      [4, 3],
      [
        [
          [1, 3],
          [1, 2],
        ],
        [
          [4, 3],
          [1, 2],
        ],
      ],
    ],
  ] as const)('no batching when %s: max_batch_size 0, full dims with -1', async (_why, min, max, samples) => {
    const spec = cpuArtifact(0, {
      profileShapes: { min: { x: [...min] }, opt: { x: [...max] }, max: { x: [...max] } },
      samples: samples.map(([inShape, outShape], i) => ({
        inputs: { x: f32([...inShape], i) },
        outputs: { y: f32([...outShape], i) },
      })),
    });
    await writeFakeRelease(release, '1.2.0', [spec]);
    await exportTritonRepository({ release, repository });
    const parsed = await config('ocr-cls_b1_fp32');
    expect(parsed.max_batch_size).toBe(0);
    expect(parsed.dynamic_batching).toBeUndefined();
    const dims = (parsed.input as { dims: number[] }[])[0]?.dims;
    expect(dims).toHaveLength(2);
    expect(dims).toContain(-1);
  });

  it('refuses a golden input whose shape the profile does not allow, writing nothing', async () => {
    const spec = cpuArtifact(1);
    spec.samples[0]!.inputs.x = f32([1, 3, 2, 3], 0);
    await writeFakeRelease(release, '1.2.0', [spec]);
    await expect(exportTritonRepository({ release, repository })).rejects.toThrow(
      /in-x\.npy: shape 1x3x2x3 does not fit the profile's \[1, 3, 2, 2\] for input 'x'/,
    );
    expect(await treeFiles(repository)).toEqual([]);
  });

  it('refuses a rank-0 input (a sample rate) that config.pbtxt cannot declare, writing nothing', async () => {
    const spec = cpuArtifact(1, { profileShapes: { shapes: { x: [1, 3, 2, 2], 'ids:0': [1, 2], sr: [] } } });
    spec.samples[0]!.inputs.sr = i64([], 160);
    await writeFakeRelease(release, '1.2.0', [spec]);
    await expect(exportTritonRepository({ release, repository })).rejects.toThrow(
      /artifact\.json: model input 'sr' is rank 0 \(a scalar\), which a Triton model config cannot declare .*export the model with 'sr' as a \[1\] tensor/,
    );
    expect(await treeFiles(repository)).toEqual([]);
  });
});

describe('exportTritonRepository: TensorRT releases', () => {
  it('puts one profile/precision from two compute capabilities into one model with cc_model_filenames', async () => {
    await writeFakeRelease(release, '1.2.0', [
      trtArtifact(key('9'), '9.0'),
      trtArtifact(key('8'), '8.6'),
      trtArtifact(key('f'), '8.6', 'fp16'),
    ]);
    const models = await exportTritonRepository({ release, repository, tritonRelease: '24.08' });
    expect(models.map((m) => [m.name, m.keys])).toEqual([
      ['ocr-cls_b1_fp32', [key('8'), key('9')]],
      ['ocr-cls_b1_fp16', [key('f')]],
    ]);
    const both = await config('ocr-cls_b1_fp32');
    expect(both).toMatchObject({
      platform: 'tensorrt_plan',
      instance_group: [{ kind: 'KIND_GPU' }],
      cc_model_filenames: { '8.6': 'model.sm86.plan', '9.0': 'model.sm90.plan' },
      parameters: { kiln_artifact_keys: { string_value: `${key('8')},${key('9')}` } },
    });
    expect(both.backend).toBeUndefined();
    expect(both.default_model_filename).toBeUndefined();
    const dir = path.join(repository, 'ocr-cls_b1_fp32', '1');
    expect(await readFile(path.join(dir, 'model.sm86.plan'), 'utf8')).toBe('plan for sm8.6 fp32');
    expect(await readFile(path.join(dir, 'model.sm90.plan'), 'utf8')).toBe('plan for sm9.0 fp32');
    expect(await config('ocr-cls_b1_fp16')).toMatchObject({
      default_model_filename: 'model.plan',
      cc_model_filenames: { '8.6': 'model.plan' },
    });
    expect(await treeFiles(path.join(repository, 'ocr-cls_b1_fp16', '1'))).toEqual(['model.plan']);
  });

  it('a TensorRT 8.6 plan declares its int64 tensors TYPE_INT32 (its bindings are int32) and writes int32 warmup data', async () => {
    await writeFakeRelease(release, '1.2.0', [trtArtifact(key('8'), '8.6', 'fp32', '8.6.1.6')]);
    await exportTritonRepository({ release, repository, tritonRelease: '24.01' });
    const parsed = await config('ocr-cls_b1_fp32');
    expect(parsed.input).toEqual([
      { name: 'x', data_type: 'TYPE_FP32', dims: [1, 3, 2, 2] },
      { name: 'ids:0', data_type: 'TYPE_INT32', dims: [1, 2] },
    ]);
    const warmup = parsed.model_warmup as { inputs: Record<string, { data_type: string }> }[];
    expect(warmup[0]?.inputs['ids:0']?.data_type).toBe('TYPE_INT32');
    const bytes = await readFile(path.join(repository, 'ocr-cls_b1_fp32/warmup/kiln-golden-0-ids_0'));
    expect([...new Int32Array(bytes.buffer, bytes.byteOffset, 2)]).toEqual([0, 1]);
    // The same release built on 10.x keeps TYPE_INT64.
    const ten = path.join(tmp, 'releases', 'ocr-cls', '1.3.0');
    await writeFakeRelease(ten, '1.3.0', [trtArtifact(key('9'), '8.6', 'fp32', '10.3.0.26')]);
    const repository10 = path.join(tmp, 'triton10');
    await exportTritonRepository({ release: ten, repository: repository10, tritonRelease: '24.08' });
    const text = await readFile(path.join(repository10, 'ocr-cls_b1_fp32', 'config.pbtxt'), 'utf8');
    expect(text).toContain('TYPE_INT64');
  });

  it('refuses two engines with one compute capability for one model, naming both keys', async () => {
    const older = {
      ...trtArtifact(key('c'), '8.6'),
      hardware: { computeCapability: '8.6', tensorrt: '10.0.1' },
    };
    await writeFakeRelease(release, '1.2.0', [trtArtifact(key('8'), '8.6'), older]);
    const error = await exportTritonRepository({ release, repository }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      `${path.join(release, 'release.json')}: engines ${key('8')} and ${key('c')} both target compute capability 8.6 for Triton model ocr-cls_b1_fp32: Triton cannot choose between them; release only one of them`,
    );
    expect(await treeFiles(repository)).toEqual([]);
  });

  it('checks every model before writing any: one taken version refuses the whole export', async () => {
    await writeFakeRelease(release, '1.2.0', [
      trtArtifact(key('8'), '8.6'),
      trtArtifact(key('f'), '8.6', 'fp16'),
    ]);
    await mkdir(path.join(repository, 'ocr-cls_b1_fp16', '3'), { recursive: true });
    await expect(
      exportTritonRepository({ release, repository, tritonVersion: 3, tritonRelease: '24.08' }),
    ).rejects.toThrow(/ocr-cls_b1_fp16\/3: Triton version 3 already exists/);
    expect(await treeFiles(repository)).toEqual([]);
    expect(await treeFiles(path.join(repository, 'ocr-cls_b1_fp32'))).toEqual([]);
  });

  it('serves onnxruntime-gpu engines with the onnxruntime backend, TensorRT EP as accelerator', async () => {
    const spec = trtArtifact(key('e'), '8.9');
    spec.backend = 'onnxruntime-gpu';
    spec.hardware = { ...spec.hardware, provider: 'tensorrt' };
    spec.engineFile = 'engine.onnx';
    await writeFakeRelease(release, '1.2.0', [spec]);
    await exportTritonRepository({ release, repository });
    expect(await config('ocr-cls_b1_fp32')).toMatchObject({
      backend: 'onnxruntime',
      instance_group: [{ kind: 'KIND_GPU' }],
      default_model_filename: 'model.onnx',
      cc_model_filenames: { '8.9': 'model.onnx' },
      optimization: {
        execution_accelerators: {
          gpu_execution_accelerator: [
            {
              name: 'tensorrt',
              parameters: {
                precision_mode: 'FP32',
                trt_engine_cache_enable: 'true',
                trt_engine_cache_path: '/tmp/kiln-trt-engine-cache/ocr-cls_b1_fp32',
              },
            },
          ],
        },
      },
    });
  });

  it('a CUDA EP onnxruntime-gpu engine gets no accelerator: Triton serves it as it was verified', async () => {
    const spec = trtArtifact(key('e'), '8.9');
    spec.backend = 'onnxruntime-gpu';
    spec.hardware = { ...spec.hardware, provider: 'cuda' };
    spec.engineFile = 'engine.onnx';
    await writeFakeRelease(release, '1.2.0', [spec]);
    await exportTritonRepository({ release, repository });
    expect((await config('ocr-cls_b1_fp32')).optimization).toBeUndefined();
  });
});

describe('exportTritonRepository: TensorRT plans against the target Triton release', () => {
  it('refuses a plan without a target release, naming the key and the setting, writing nothing', async () => {
    await writeFakeRelease(release, '1.2.0', [trtArtifact(key('8'), '8.6')]);
    await expect(exportTritonRepository({ release, repository })).rejects.toThrow(
      `engine ${key('8')} is a TensorRT plan, which loads only in the TensorRT version that built it: name the Triton release to serve it with (triton.release in kiln.yaml or --triton-release`,
    );
    expect(await treeFiles(repository)).toEqual([]);
  });

  it('refuses a plan built with another TensorRT than the release bundles, and an unknown release', async () => {
    await writeFakeRelease(release, '1.2.0', [trtArtifact(key('8'), '8.6')]);
    await expect(exportTritonRepository({ release, repository, tritonRelease: '25.01' })).rejects.toThrow(
      `engine ${key('8')} cannot be served by Triton 25.01 (TensorRT 10.8.0.43): it was built with TensorRT 10.3.0, and a plan loads only in the TensorRT that built it, not 10.8.0.43`,
    );
    await expect(exportTritonRepository({ release, repository, tritonRelease: '19.01' })).rejects.toThrow(
      /Triton release '19\.01': kiln does not know which TensorRT it bundles \(known: 24\.01, 24\.05, .*25\.02\)/,
    );
    expect(await treeFiles(repository)).toEqual([]);
  });

  it('takes an older version-compatible plan of the same major and says how Triton must load it', async () => {
    const spec = trtArtifact(key('8'), '8.6');
    spec.hardware = { ...spec.hardware, versionCompatible: true };
    await writeFakeRelease(release, '1.2.0', [spec]);
    await exportTritonRepository({ release, repository, tritonRelease: '25.01' });
    const text = await readFile(path.join(repository, 'ocr-cls_b1_fp32', 'config.pbtxt'), 'utf8');
    expect(text).toContain(
      '# Version-compatible TensorRT plans: start tritonserver with --backend-config=tensorrt,version-compatible=true',
    );
    expect(parseTritonConfig(text).platform).toBe('tensorrt_plan');
    // Version compatibility runs forward only: a plan newer than the server's TensorRT is refused.
    const next = path.join(tmp, 'releases', 'ocr-cls', '1.3.0');
    await writeFakeRelease(next, '1.3.0', [spec]);
    await expect(
      exportTritonRepository({ release: next, repository, tritonRelease: '24.05' }),
    ).rejects.toThrow(
      /built version-compatible with TensorRT 10\.3\.0, which loads only in TensorRT 10\.x from 10\.3\.0 on, not 10\.0\.1\.6/,
    );
  });
});

describe('exportTritonRepository refuses', () => {
  it('CPU and GPU engines for one Triton model unless one backend is selected', async () => {
    await writeFakeRelease(release, '1.2.0', [cpuArtifact(1), trtArtifact(key('8'), '8.6')]);
    await expect(exportTritonRepository({ release, repository })).rejects.toThrow(
      `engines ${key('a')} (onnxruntime-cpu) and ${key('8')} (tensorrt) would both be Triton model ocr-cls_b1_fp32: select one backend to export`,
    );
    const [model] = await exportTritonRepository({
      release,
      repository,
      backends: ['tensorrt'],
      tritonRelease: '24.08',
    });
    expect(model?.keys).toEqual([key('8')]);
  });

  it('a backend Triton cannot serve, a model name Triton cannot use and a bad version', async () => {
    await writeFakeRelease(release, '1.2.0', [cpuArtifact(1, { backend: 'tvm' })]);
    await expect(exportTritonRepository({ release, repository })).rejects.toThrow(
      /engine a{64} has backend 'tvm', which Triton cannot serve \(expected one of tensorrt, onnxruntime-cpu, onnxruntime-gpu/,
    );
    const odd = path.join(tmp, 'releases', 'odd', '1');
    await writeFakeRelease(odd, '1', [cpuArtifact(1, { model: '.hidden model' })]);
    await expect(exportTritonRepository({ release: odd, repository })).rejects.toThrow(
      /release\.json: Triton model name '\.hidden model_b1_fp32' \(model_profile_precision\) is not usable/,
    );
    for (const tritonVersion of [0, 1.5, -2]) {
      await expect(exportTritonRepository({ release, repository, tritonVersion })).rejects.toThrow(
        `tritonVersion: found ${tritonVersion}, expected a positive integer`,
      );
    }
    expect(await treeFiles(repository)).toEqual([]);
  });
});
