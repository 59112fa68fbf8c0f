import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors.js';
import {
  shapeSpec,
  trtexecBenchArgs,
  trtexecBuildArgs,
  trtexecGoldenArgs,
  trtexecTensorName,
} from '../../../src/backends/tensorrt/trtexec-args.js';

const fixed = { name: 's384', shapes: { x: [1, 3, 384, 384] } };
const ranged = {
  name: 'b1-8',
  min: { x: [1, 3, 384, 384] },
  opt: { x: [4, 3, 384, 384] },
  max: { x: [8, 3, 384, 384] },
};

describe('trtexec tensor names and shape specs', () => {
  it("writes name:AxBxC pairs joined by commas, a scalar as 'name': (8.6 has no `scalar` keyword)", () => {
    // v8.6.1 sampleOptions.cpp: dims go through stoi ('scalar' throws), and an unquoted 's:' loses its
    // empty last field in splitToStringVec, leaving 's' as the value; quoted, the value is '' (no dims).
    expect(shapeSpec({ x: [1, 3, 384, 384], ids: [1, 4], s: [] })).toBe("x:1x3x384x384,ids:1x4,'s':");
    expect(shapeSpec({ 'rate:0': [] })).toBe("'rate:0':");
    expect(() => shapeSpec({ "it's": [] })).toThrow(InputError);
  });

  it("quotes names with ':' (trtexec splits unquoted pairs on the last ':')", () => {
    expect(trtexecTensorName('input:0')).toBe("'input:0'");
    expect(shapeSpec({ 'input:0': [1, 2] })).toBe("'input:0':1x2");
  });

  it("refuses names trtexec cannot express: ',' (lists split first), quotes, '*' wildcards", () => {
    for (const name of ['a,b', "it's", 'in*', '']) {
      expect(() => trtexecTensorName(name)).toThrow(InputError);
    }
    expect(() => shapeSpec({ 'a,b': [1] })).toThrow(/a,b.*','/);
  });
});

describe('trtexecBuildArgs', () => {
  it('builds a fixed-shape fp32 engine without running inference', () => {
    expect(
      trtexecBuildArgs({
        modelPath: '/m/det.onnx',
        enginePath: '/o/engine.plan',
        profile: fixed,
        precision: 'fp32',
        tensorrt: '10.3.0',
      }),
    ).toEqual([
      '--onnx=/m/det.onnx',
      '--saveEngine=/o/engine.plan',
      '--skipInference',
      '--shapes=x:1x3x384x384',
    ]);
  });

  it('passes a ranged profile as min/opt/max shapes', () => {
    const args = trtexecBuildArgs({
      modelPath: 'm.onnx',
      enginePath: 'e.plan',
      profile: ranged,
      precision: 'fp32',
      tensorrt: '10.3.0',
    });
    expect(args).toContain('--minShapes=x:1x3x384x384');
    expect(args).toContain('--optShapes=x:4x3x384x384');
    expect(args).toContain('--maxShapes=x:8x3x384x384');
    expect(args.some((a) => a.startsWith('--shapes='))).toBe(false);
  });

  it('gives shapes only for dynamic inputs, and none for a static model (trtexec refuses them)', () => {
    const two = { name: 'p', shapes: { x: [1, 8], ids: [1, 4] } };
    const some = trtexecBuildArgs({
      modelPath: 'm',
      enginePath: 'e',
      profile: two,
      precision: 'fp32',
      tensorrt: '8.6.1',
      dynamicInputs: new Set(['x']),
    });
    expect(some).toContain('--shapes=x:1x8');
    const none = trtexecBuildArgs({
      modelPath: 'm',
      enginePath: 'e',
      profile: two,
      precision: 'fp32',
      tensorrt: '8.6.1',
      dynamicInputs: new Set(),
    });
    expect(none.some((a) => a.includes('hapes='))).toBe(false);
  });

  it('int8 is explicit quantization per version: --int8 --fp16 on 8.6, --stronglyTyped on 10.x, no flag on 11', () => {
    const base = { modelPath: 'qdq.onnx', enginePath: 'e', profile: fixed, precision: 'int8' } as const;
    const flags = (tensorrt: string) =>
      trtexecBuildArgs({ ...base, tensorrt }).filter((a) => /^--(int8|fp16|stronglyTyped|calib)/.test(a));
    expect(flags('8.6.1')).toEqual(['--int8', '--fp16']);
    expect(flags('10.3.0')).toEqual(['--stronglyTyped']);
    expect(flags('11.0.0')).toEqual([]);
    expect(trtexecBuildArgs({ ...base, precision: 'fp16', tensorrt: '10.3.0' })).toContain('--fp16');
  });

  it('adds timing cache and workspace flags last', () => {
    const args = trtexecBuildArgs({
      modelPath: 'm',
      enginePath: 'e',
      profile: fixed,
      precision: 'fp16',
      tensorrt: '10.3.0',
      timingCacheFile: '/host/cache/trtexec-sm86-trt10.3.0.timing-cache',
      workspaceMiB: 4096,
    });
    expect(args.slice(-3)).toEqual([
      '--fp16',
      '--timingCacheFile=/host/cache/trtexec-sm86-trt10.3.0.timing-cache',
      '--memPoolSize=workspace:4096',
    ]);
  });

  it('hardware and version compatibility flags, refused where the trtexec version lacks them', () => {
    const base = { modelPath: 'm', enginePath: 'e', profile: fixed, precision: 'fp32' } as const;
    const compat = (tensorrt: string, o: Partial<Parameters<typeof trtexecBuildArgs>[0]>) =>
      trtexecBuildArgs({ ...base, tensorrt, ...o }).filter((a) => /Compat/.test(a));
    expect(compat('8.6.1', { hardwareCompatibility: 'ampere+', versionCompatible: true })).toEqual([
      '--hardwareCompatibilityLevel=ampere+',
      '--versionCompatible',
    ]);
    expect(compat('10.9.0', { hardwareCompatibility: 'same-compute-capability' })).toEqual([
      '--hardwareCompatibilityLevel=sameComputeCapability',
    ]);
    expect(compat('10.3.0', { hardwareCompatibility: 'none' })).toEqual([]);
    // v10.8.0 sampleOptions.cpp accepts only none and ampere+; 8.5 has neither option.
    expect(() => compat('10.8.0', { hardwareCompatibility: 'same-compute-capability' })).toThrow(
      /TensorRT 10.9 added it/,
    );
    expect(() => compat('8.5.3', { versionCompatible: true })).toThrow(/TensorRT 8.6 added both/);
  });

  it('refuses nonsense: bad workspace, fp16 on TensorRT 11 (strongly typed), an unreadable version', () => {
    const base = { modelPath: 'm', enginePath: 'e', profile: fixed } as const;
    expect(() =>
      trtexecBuildArgs({ ...base, precision: 'fp32', tensorrt: '10.3.0', workspaceMiB: 0 }),
    ).toThrow(/workspace/);
    expect(() => trtexecBuildArgs({ ...base, precision: 'fp16', tensorrt: '11.0.0' })).toThrow(
      /TensorRT 11 builds strongly typed networks/,
    );
    expect(trtexecBuildArgs({ ...base, precision: 'fp32', tensorrt: '11.0.0' })).toContain('--skipInference');
    expect(() => trtexecBuildArgs({ ...base, precision: 'fp32', tensorrt: '10' })).toThrow(InputError);
  });
});

describe('trtexecBenchArgs', () => {
  it('loads the engine, exports per-iteration times, spins and skips data transfers', () => {
    expect(
      trtexecBenchArgs({
        enginePath: '/s/engine.plan',
        shapes: { x: [1, 3, 384, 384] },
        warmUpMs: 200,
        iterations: 50,
        durationS: 3,
        timesPath: '/w/times.json',
        inputFiles: { x: '/w/input-0.bin' },
      }),
    ).toEqual([
      '--loadEngine=/s/engine.plan',
      '--shapes=x:1x3x384x384',
      '--loadInputs=x:/w/input-0.bin',
      '--warmUp=200',
      '--iterations=50',
      '--duration=3',
      '--exportTimes=/w/times.json',
      '--useSpinWait',
      '--noDataTransfers',
    ]);
  });

  it('refuses negative or fractional counts', () => {
    const o = { enginePath: 'e', shapes: {}, warmUpMs: 0, iterations: 1, durationS: 0, timesPath: 't' };
    expect(() => trtexecBenchArgs({ ...o, iterations: -1 })).toThrow(/iterations/);
    expect(() => trtexecBenchArgs({ ...o, durationS: 0.5 })).toThrow(/durationS/);
  });
});

describe('trtexecGoldenArgs', () => {
  it('runs once with loaded inputs and exports the outputs', () => {
    expect(
      trtexecGoldenArgs({
        enginePath: 'e.plan',
        shapes: { x: [1, 8], 'in:0': [1, 4] },
        inputFiles: { x: '/w/input-0.bin', 'in:0': '/w/input-1.bin' },
        outputPath: '/w/output.json',
      }),
    ).toEqual([
      '--loadEngine=e.plan',
      "--shapes=x:1x8,'in:0':1x4",
      "--loadInputs=x:/w/input-0.bin,'in:0':/w/input-1.bin",
      '--warmUp=0',
      '--iterations=1',
      '--duration=0',
      '--exportOutput=/w/output.json',
    ]);
  });

  it("quotes the name when the path has ':' and refuses paths with ','", () => {
    const args = trtexecGoldenArgs({
      enginePath: 'e',
      shapes: {},
      inputFiles: { x: 'C:/w/x.bin' },
      outputPath: 'o',
    });
    expect(args).toContain("--loadInputs='x':C:/w/x.bin");
    expect(() =>
      trtexecGoldenArgs({ enginePath: 'e', shapes: {}, inputFiles: { x: '/w,x.bin' }, outputPath: 'o' }),
    ).toThrow(/contains ','/);
  });
});
