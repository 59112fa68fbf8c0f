/**
 * TensorRT per-version behaviour through the backend with trtexec replaced by a recorder (no GPU):
 * int8 from QDQ models (kiln's, from real calibration on ONNX Runtime CPU, or the model's own),
 * int64 narrowed to int32 on 8.6, uint8 outputs and shape tensors refused where trtexec cannot
 * serve them, and the fingerprint per hardware-compatibility level. Sources: docs/tensorrt.md.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors.js';
import { compareHardware, describeMismatch } from '../../../src/core/hardware-match.js';
import type { HostTensor } from '../../../src/core/tensor.js';
import type { CommandRunner } from '../../../src/backends/host/command-runner.js';
import { TensorRtBackend } from '../../../src/backends/tensorrt/tensorrt.js';
import type { GpuFingerprint, TrtCompatibility } from '../../../src/backends/tensorrt/tensorrt.js';
import { hasQdqNodes } from '../../../src/backends/tensorrt/tensorrt-int8.js';
import { engineInputBytes } from '../../../src/backends/tensorrt/tensorrt-model.js';
import { writeSyntheticModels } from '../../fixtures/synthetic-models.js';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;
const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'trtexec');
const BUILD_86 = path.join(fixtures, 'build-trt8.6-ranged-saveengine.log');
const PASSED = '&&&& PASSED TensorRT.trtexec [TensorRT v100300] # trtexec';
const fp = (over: Partial<GpuFingerprint> = {}): GpuFingerprint => ({
  name: 'NVIDIA A10G',
  computeCapability: '8.6',
  driverMajor: 550,
  cuda: '12.4',
  tensorrt: '10.3.0',
  ...over,
});

let tmp: string;
let twoHead: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'kiln-trt-model-'));
  twoHead = (await writeSyntheticModels(path.join(tmp, 'models'))).twoHead;
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

const flag = (args: readonly string[], name: string) =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

/** Records each call and the ONNX file or input files trtexec would read, then writes its outputs. */
function recorder(stdout: string, writes: (args: readonly string[]) => Record<string, string> = () => ({})) {
  const calls: { args: readonly string[]; onnx?: Uint8Array; inputs: Record<string, Buffer> }[] = [];
  const runner: CommandRunner = {
    run: async (_file, args) => {
      const model = flag(args, 'onnx');
      const inputs: Record<string, Buffer> = {};
      for (const spec of flag(args, 'loadInputs')?.split(',') ?? []) {
        const i = spec.lastIndexOf(':');
        inputs[spec.slice(0, i)] = await readFile(spec.slice(i + 1));
      }
      calls.push({ args, inputs, ...(model ? { onnx: await readFile(model) } : {}) });
      const engine = flag(args, 'saveEngine');
      if (engine) await writeFile(engine, 'PLAN');
      for (const [file, text] of Object.entries(writes(args))) await writeFile(file, text);
      return { exitCode: 0, stdout, stderr: '' };
    },
  };
  return { runner, calls };
}

function backend(runner: CommandRunner, gpu: GpuFingerprint = fp(), trt?: TrtCompatibility) {
  return new TensorRtBackend({
    runner,
    fingerprint: async () => gpu,
    timingCacheDir: path.join(tmp, 'host-cache'),
    workDir: path.join(tmp, 'work'),
    ...(trt ? { trt } : {}),
  });
}

async function outDir(name: string) {
  const dir = path.join(tmp, 'out', name);
  await mkdir(dir, { recursive: true });
  return dir;
}

const profile = { name: 'b2', shapes: { x: [2, 8], ids: [2, 4] } };

/** Calibration samples for twoHead: x spread over [-2, 2], ids small integers. */
function samples(n: number): Array<Record<string, HostTensor>> {
  return Array.from({ length: n }, (_, s) => ({
    x: {
      dtype: 'float32',
      shape: [2, 8],
      data: Float32Array.from({ length: 16 }, (_, i) => ((i * 7 + s * 3) % 17) / 4 - 2),
    },
    ids: {
      dtype: 'int64',
      shape: [2, 4],
      data: BigInt64Array.from({ length: 8 }, (_, i) => BigInt((i + s) % 5)),
    },
  }));
}

function decode(bytes: Uint8Array): Onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

describe('int8 on TensorRT is explicit quantization', () => {
  it("builds from kiln's QDQ model: int8 symmetric activations, float biases, flags per version", async () => {
    for (const [tensorrt, stdout, flags] of [
      ['8.6.1', await readFile(BUILD_86, 'utf8'), ['--int8', '--fp16']],
      ['10.3.0', PASSED, ['--stronglyTyped']],
    ] as const) {
      const { runner, calls } = recorder(stdout);
      const dir = await outDir(`int8-${tensorrt}`);
      const compiled = await backend(runner, fp({ tensorrt })).compile({
        modelPath: twoHead,
        profile,
        precision: 'int8',
        outDir: dir,
        calibration: { samples: samples(4), method: 'minmax', percentile: 99.99 },
      });
      const args = calls[0]!.args;
      expect(flag(args, 'onnx')).not.toBe(twoHead);
      expect(args.filter((a) => /^--(int8|fp16|stronglyTyped|calib)/.test(a))).toEqual(flags);
      const qdq = decode(calls[0]!.onnx!);
      expect(hasQdqNodes(qdq)).toBe(true);
      const inits = new Map((qdq.graph?.initializer ?? []).map((t) => [t.name, t]));
      const quantize = (qdq.graph?.node ?? []).filter((n) => n.opType === 'QuantizeLinear');
      expect(quantize.length).toBeGreaterThan(0);
      for (const q of quantize) {
        // onnx-tensorrt 8.6-GA: zero points must be int8 and all zero.
        const zero = inits.get(q.input![2]!)!;
        expect(zero.dataType).toBe(DT.INT8);
        const values = zero.rawData?.length ? [...zero.rawData] : [...(zero.int32Data ?? [])];
        expect(values.length).toBeGreaterThan(0);
        expect(values.every((b) => b === 0)).toBe(true);
      }
      const dqInputs = (qdq.graph?.node ?? []).filter((n) => n.opType === 'DequantizeLinear');
      expect(dqInputs.every((n) => inits.get(n.input![0]!)?.dataType !== DT.INT32)).toBe(true);
      expect(compiled.calibration).toBeDefined();
      expect(compiled.notes.some((n) => n.includes('int8 symmetric activations'))).toBe(true);
      // The scratch QDQ model does not outlive the build; only the plan and its sidecar are stored.
      expect(await readdir(path.join(tmp, 'work'))).toEqual([]);
      expect((await readdir(dir)).sort()).toEqual(['engine.plan', 'engine.plan.io.json']);
    }
  });

  it("uses a model's own Q/DQ nodes as they are, and refuses a model with neither Q/DQ nor calibration", async () => {
    const first = recorder(PASSED);
    await backend(first.runner).compile({
      modelPath: twoHead,
      profile,
      precision: 'int8',
      outDir: await outDir('qdq-source'),
      calibration: { samples: samples(2), method: 'minmax', percentile: 99.99 },
    });
    const own = path.join(tmp, 'models', 'own-qdq.onnx');
    await writeFile(own, first.calls[0]!.onnx!);
    const second = recorder(PASSED);
    const compiled = await backend(second.runner).compile({
      modelPath: own,
      profile,
      precision: 'int8',
      outDir: await outDir('own-qdq'),
    });
    expect(flag(second.calls[0]!.args, 'onnx')).toBe(own);
    expect(compiled.notes).toContain('int8 from the model’s own Q/DQ nodes (explicit quantization)');

    const none = recorder(PASSED);
    const error = await backend(none.runner)
      .compile({ modelPath: twoHead, profile, precision: 'int8', outDir: await outDir('no-qdq') })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      `${twoHead}: int8 on TensorRT needs Q/DQ nodes in the model or models[].calibration.data for kiln to add them (trtexec --int8 alone sets placeholder ranges, not calibrated ones)`,
    );
    expect(none.calls).toEqual([]);
  });

  it('keys the int8 scheme', () => {
    const options = backend(recorder(PASSED).runner).compileOptions('int8');
    expect(options.int8).toMatchObject({
      quantization: 'explicit-qdq',
      kiln: { activationType: 'int8', quantizeBias: false, consumerRanges: false },
    });
    expect(backend(recorder(PASSED).runner).compileOptions('fp32')).not.toHaveProperty('int8');
  });
});

describe('int64 inputs on TensorRT 8.6 (parsed as int32)', () => {
  const ids: HostTensor = {
    dtype: 'int64',
    shape: [1, 4],
    data: BigInt64Array.from([1n, -2n, 3n, 2147483647n]),
  };
  const x: HostTensor = { dtype: 'float32', shape: [1, 8], data: new Float32Array(8).fill(0.5) };
  const output =
    '[ { "name" : "y", "dimensions" : "1x4", "values" : [ 1, 2, 3, 4 ] }, { "name" : "z", "dimensions" : "1x1", "values" : [ 7 ] } ]';

  async function run(tensorrt: string, inputs: Record<string, HostTensor>) {
    const { runner, calls } = recorder(PASSED, (args) => {
      const out = flag(args, 'exportOutput');
      return out ? { [out]: output } : {};
    });
    const dir = await outDir(`int64-${tensorrt}`);
    const b = backend(runner, fp({ tensorrt }));
    await b.compile({
      modelPath: twoHead,
      profile: { name: 'b1', shapes: { x: [1, 8], ids: [1, 4] } },
      precision: 'fp32',
      outDir: dir,
    });
    const session = await b.openEngine(path.join(dir, 'engine.plan'), { threads: 1 });
    await session.run(inputs);
    return calls.at(-1)!.inputs;
  }

  it('8.6 gets int32 bytes (half the int64 file), 10.x the int64 bytes unchanged', async () => {
    const on86 = await run('8.6.1', { x, ids });
    expect([...new Int32Array(new Uint8Array(on86.ids!).buffer)]).toEqual([1, -2, 3, 2147483647]);
    const on10 = await run('10.3.0', { x, ids });
    expect([...new BigInt64Array(new Uint8Array(on10.ids!).buffer)]).toEqual([1n, -2n, 3n, 2147483647n]);
  });

  it('a value beyond int32 is refused on 8.6, never wrapped', async () => {
    const big: HostTensor = {
      dtype: 'int64',
      shape: [1, 4],
      data: BigInt64Array.from([0n, 0n, 2147483648n, 0n]),
    };
    await expect(run('8.6.1', { x, ids: big })).rejects.toThrow(
      "input 'ids': value 2147483648 at index 2 does not fit int32, and TensorRT before 10.0 runs int64 tensors as int32",
    );
    expect(() => engineInputBytes('ids', big, false)).not.toThrow();
  });
});

/** One-node models for the refusals: a uint8 output (Cast) and a Reshape whose shape is an input. */
function tinyModel(kind: 'uint8-output' | 'shape-input'): Uint8Array {
  const info = (name: string, elemType: number, dims: number[]) => ({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((dimValue) => ({ dimValue })) } } },
  });
  const graph =
    kind === 'uint8-output'
      ? {
          name: 'u8',
          input: [info('x', DT.FLOAT, [1, 4])],
          output: [info('mask', DT.UINT8, [1, 4])],
          node: [
            {
              opType: 'Cast',
              name: 'cast',
              input: ['x'],
              output: ['mask'],
              attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: DT.UINT8 }],
            },
          ],
        }
      : {
          name: 'reshape',
          input: [info('x', DT.FLOAT, [1, 4]), info('shape', DT.INT64, [2])],
          output: [info('y', DT.FLOAT, [2, 2])],
          node: [{ opType: 'Reshape', name: 'r1', input: ['x', 'shape'], output: ['y'] }],
        };
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({ irVersion: 7, opsetImport: [{ domain: '', version: 13 }], graph }),
  ).finish();
}

describe('what trtexec cannot serve is refused before a build', () => {
  it('a uint8 output before TensorRT 10.16 (exported as raw characters), accepted from 10.16', async () => {
    const file = path.join(tmp, 'models', 'u8.onnx');
    await writeFile(file, tinyModel('uint8-output'));
    const request = {
      modelPath: file,
      profile: { name: 'p', shapes: { x: [1, 4] } },
      precision: 'fp32' as const,
    };
    const old = recorder(PASSED);
    await expect(
      backend(old.runner, fp({ tensorrt: '10.15.1' })).compile({
        ...request,
        outDir: await outDir('u8-old'),
      }),
    ).rejects.toThrow(
      `${file}: output 'mask' is uint8, which trtexec before TensorRT 10.16 exports as raw characters (this host has 10.15.1)`,
    );
    expect(old.calls).toEqual([]);
    const fixed = recorder(PASSED);
    await backend(fixed.runner, fp({ tensorrt: '10.16.2' })).compile({
      ...request,
      outDir: await outDir('u8-new'),
    });
    expect(fixed.calls).toHaveLength(1);
  });

  it('a shape-tensor input (its --shapes would be values, not dims)', async () => {
    const file = path.join(tmp, 'models', 'reshape.onnx');
    await writeFile(file, tinyModel('shape-input'));
    const { runner, calls } = recorder(PASSED);
    await expect(
      backend(runner).compile({
        modelPath: file,
        profile: { name: 'p', shapes: { x: [1, 4], shape: [2] } },
        precision: 'fp32',
        outDir: await outDir('shape'),
      }),
    ).rejects.toThrow(
      `${file}: input 'shape' is the shape operand of Reshape 'r1', a shape tensor for TensorRT`,
    );
    expect(calls).toEqual([]);
  });
});

describe('the hardware fingerprint per compatibility level', () => {
  const hw = (gpu: Partial<GpuFingerprint>, trt?: TrtCompatibility) =>
    backend(recorder(PASSED).runner, fp(gpu), trt).hardwareFingerprint();

  it('none: GPU model and compute capability; ampere+: neither; same-compute-capability: the capability only', async () => {
    expect(await hw({})).toEqual({
      kind: 'gpu',
      gpu: 'NVIDIA A10G',
      computeCapability: '8.6',
      tensorrt: '10.3.0',
      driverMajor: 550,
      cuda: '12.4',
    });
    expect(await hw({}, { hardwareCompatibility: 'ampere+', versionCompatible: true })).toEqual({
      kind: 'gpu',
      hardwareCompatibility: 'ampere+',
      tensorrt: '10.3.0',
      versionCompatible: true,
      driverMajor: 550,
      cuda: '12.4',
    });
    expect(await hw({}, { hardwareCompatibility: 'same-compute-capability' })).toMatchObject({
      computeCapability: '8.6',
      hardwareCompatibility: 'same-compute-capability',
    });
  });

  it('an ampere+ plan deploys on an H100 and an A40, not on a T4; same-compute-capability on an A40, not an H100', async () => {
    const ampere = await hw({}, { hardwareCompatibility: 'ampere+' });
    const sameCc = await hw({}, { hardwareCompatibility: 'same-compute-capability' });
    const h100 = await hw({ name: 'NVIDIA H100 80GB HBM3', computeCapability: '9.0' });
    const a40 = await hw({ name: 'NVIDIA A40' });
    const t4 = await hw({ name: 'Tesla T4', computeCapability: '7.5' });
    expect(compareHardware(ampere, h100)).toEqual([]);
    expect(compareHardware(ampere, a40)).toEqual([]);
    expect(compareHardware(ampere, t4).map(describeMismatch)).toEqual([
      'compute capability 7.5 (this host) is below 8.0, and the engine was built TensorRT hardware-compatible ampere+ (Ampere or later only)',
    ]);
    expect(compareHardware(sameCc, a40)).toEqual([]);
    expect(compareHardware(sameCc, h100).map(describeMismatch)).toEqual([
      'compute capability 8.6 (engine) vs 9.0 (this host)',
    ]);
  });

  it('ampere+ is refused on a pre-Ampere build host before trtexec runs', async () => {
    const { runner, calls } = recorder(PASSED);
    await expect(
      backend(runner, fp({ name: 'Tesla T4', computeCapability: '7.5' }), {
        hardwareCompatibility: 'ampere+',
      }).compile({
        modelPath: twoHead,
        profile,
        precision: 'fp32',
        outDir: await outDir('t4'),
      }),
    ).rejects.toThrow(
      'trt.hardwareCompatibility ampere+ builds only on Ampere or later GPUs (compute capability 8.0+), this GPU Tesla T4 is 7.5',
    );
    expect(calls).toEqual([]);
  });

  it('passes the compatibility flags to trtexec', async () => {
    const { runner, calls } = recorder(PASSED);
    await backend(runner, fp(), { hardwareCompatibility: 'ampere+', versionCompatible: true }).compile({
      modelPath: twoHead,
      profile,
      precision: 'fp32',
      outDir: await outDir('compat'),
    });
    expect(calls[0]!.args).toEqual(
      expect.arrayContaining(['--hardwareCompatibilityLevel=ampere+', '--versionCompatible']),
    );
  });
});
