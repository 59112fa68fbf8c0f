import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import {
  shapeSpec,
  trtexecBenchArgs,
  trtexecBuildArgs,
  trtexecGoldenArgs,
  trtexecTensorName,
} from '../../src/backends/trtexec-args.js';

const fixed = { name: 's384', shapes: { x: [1, 3, 384, 384] } };
const ranged = {
  name: 'b1-8',
  min: { x: [1, 3, 384, 384] },
  opt: { x: [4, 3, 384, 384] },
  max: { x: [8, 3, 384, 384] },
};

describe('trtexec tensor names and shape specs', () => {
  it('writes name:AxBxC pairs joined by commas, scalars as trtexec spells them', () => {
    expect(shapeSpec({ x: [1, 3, 384, 384], ids: [1, 4], s: [] })).toBe('x:1x3x384x384,ids:1x4,s:scalar');
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
      dynamicInputs: new Set(['x']),
    });
    expect(some).toContain('--shapes=x:1x8');
    const none = trtexecBuildArgs({
      modelPath: 'm',
      enginePath: 'e',
      profile: two,
      precision: 'fp32',
      dynamicInputs: new Set(),
    });
    expect(none.some((a) => a.includes('hapes='))).toBe(false);
  });

  it('adds precision, calibration, timing cache and workspace flags', () => {
    const base = { modelPath: 'm', enginePath: 'e', profile: fixed } as const;
    expect(trtexecBuildArgs({ ...base, precision: 'fp16' })).toContain('--fp16');
    const qdq = trtexecBuildArgs({ ...base, precision: 'int8' });
    expect(qdq).toContain('--int8');
    expect(qdq.some((a) => a.startsWith('--calib'))).toBe(false);
    const calibrated = trtexecBuildArgs({
      ...base,
      precision: 'int8',
      calibrationCache: '/c/det.calib',
      timingCacheFile: '/host/cache/trtexec-sm86-trt10.3.0.timing-cache',
      workspaceMiB: 4096,
    });
    expect(calibrated.slice(-4)).toEqual([
      '--int8',
      '--calib=/c/det.calib',
      '--timingCacheFile=/host/cache/trtexec-sm86-trt10.3.0.timing-cache',
      '--memPoolSize=workspace:4096',
    ]);
  });

  it('refuses nonsense: calibration without int8, bad workspace, fp16 on TensorRT 11 (strongly typed)', () => {
    const base = { modelPath: 'm', enginePath: 'e', profile: fixed } as const;
    expect(() => trtexecBuildArgs({ ...base, precision: 'fp16', calibrationCache: 'c' })).toThrow(
      /only applies to int8/,
    );
    expect(() => trtexecBuildArgs({ ...base, precision: 'fp32', workspaceMiB: 0 })).toThrow(/workspace/);
    expect(() => trtexecBuildArgs({ ...base, precision: 'fp16', tensorrtMajor: 11 })).toThrow(
      /TensorRT 11 builds strongly typed networks/,
    );
    expect(trtexecBuildArgs({ ...base, precision: 'fp32', tensorrtMajor: 11 })).toContain('--skipInference');
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
