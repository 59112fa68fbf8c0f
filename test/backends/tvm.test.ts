import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import type { ToolRunner } from '../../src/backends/tensorrt.js';
import {
  detectTvmc,
  parseTvmcVersion,
  tuningRecordsPath,
  tvmcCompile,
  tvmcCompileArgs,
  tvmcInputShapes,
  tvmcVersion,
  tvmTarget,
} from '../../src/backends/tvm.js';

describe('tvmc command lines', () => {
  it('takes the target from the probe', () => {
    expect(tvmTarget({ kind: 'gpu', computeCapability: '8.6' })).toBe('cuda -arch=sm_86');
    expect(tvmTarget({ kind: 'cpu', mcpu: 'znver3' })).toBe('llvm -mcpu=znver3');
    expect(tvmTarget({ kind: 'cpu' })).toBe('llvm');
    expect(() => tvmTarget({ kind: 'gpu', computeCapability: 'sm86' })).toThrow(InputError);
    expect(() => tvmTarget({ kind: 'cpu', mcpu: 'x; rm -rf' })).toThrow(/not a valid -mcpu/);
  });

  it('writes --input-shapes as name:[dims], space separated', () => {
    expect(tvmcInputShapes({ x: [1, 3, 384, 384], ids: [1, 4] })).toBe('x:[1,3,384,384] ids:[1,4]');
    expect(() => tvmcInputShapes({ 'a b': [1] })).toThrow(/cannot be written/);
  });

  it('builds tvmc compile per profile', () => {
    expect(
      tvmcCompileArgs({
        modelPath: 'm/det.onnx',
        outputPath: '/o/engine.tar',
        target: 'cuda -arch=sm_86',
        shapes: { x: [1, 3, 384, 384] },
        tuningRecords: '/cache/tvm-tuning/abc.json',
      }),
    ).toEqual([
      'compile',
      '--target',
      'cuda -arch=sm_86',
      '--input-shapes',
      'x:[1,3,384,384]',
      '--output',
      '/o/engine.tar',
      '--tuning-records',
      '/cache/tvm-tuning/abc.json',
      'm/det.onnx',
    ]);
  });

  it('keys tuning records by model, shapes and target', () => {
    const key = { modelSha256: 'a'.repeat(64), shapes: { x: [1, 3, 384, 384] }, target: 'cuda -arch=sm_86' };
    const p = tuningRecordsPath('/cache', key);
    expect(path.dirname(p)).toBe(path.join('/cache', 'tvm-tuning'));
    expect(tuningRecordsPath('/cache', key)).toBe(p);
    expect(tuningRecordsPath('/cache', { ...key, target: 'cuda -arch=sm_89' })).not.toBe(p);
    expect(tuningRecordsPath('/cache', { ...key, shapes: { x: [1, 3, 640, 640] } })).not.toBe(p);
  });
});

// Documented format only: `tvmc --version` prints tvm.__version__ (no recorded output was found).
describe('tvmc --version (documented format, not a recorded run)', () => {
  it('parses release and dev versions', () => {
    expect(parseTvmcVersion('0.14.0\n')).toBe('0.14.0');
    expect(parseTvmcVersion('0.19.dev0')).toBe('0.19.dev0');
    expect(parseTvmcVersion('nothing')).toBeUndefined();
  });

  it('runs through the injected runner', async () => {
    const runner: ToolRunner = async (file, args) => {
      expect([file, ...args]).toEqual(['tvmc', '--version']);
      return { exitCode: 0, stdout: '0.18.0\n', stderr: '' };
    };
    expect(await tvmcVersion(runner)).toBe('0.18.0');
  });
});

describe('absent or failing tvmc', () => {
  it('says tvmc is not on PATH', async () => {
    expect(detectTvmc('')).toEqual({ available: false, reason: expect.stringContaining('tvmc not on PATH') });
    const missing: ToolRunner = async () => ({ exitCode: 127, stdout: '', stderr: '', notFound: true });
    await expect(tvmcVersion(missing)).rejects.toThrow(/tvmc not on PATH/);
    await expect(
      tvmcCompile(missing, { modelPath: 'm.onnx', outputPath: 'e.tar', target: 'llvm', shapes: { x: [1] } }),
    ).rejects.toThrow(/^m\.onnx: tvmc compile failed: tvmc not on PATH/);
  });

  it('a failed compile becomes one line with the last error', async () => {
    const failing: ToolRunner = async () => ({
      exitCode: 1,
      stdout: '',
      stderr: 'Traceback...\nTVMCException: Error loading model\n',
    });
    await expect(
      tvmcCompile(failing, { modelPath: 'm.onnx', outputPath: 'e.tar', target: 'llvm', shapes: { x: [1] } }),
    ).rejects.toThrow('m.onnx: tvmc compile failed: TVMCException: Error loading model');
  });
});
