import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, effectiveLimits, runnerLimits } from '../../src/core/limits.js';
import { writeNpy } from '../../src/core/io/npy-files.js';
import { allocateTensor } from '../../src/core/tensor.js';
import { GENERATED, runKiln, workspace } from '../helpers/kiln-cli.js';
import { expectRefused, twoHeadConfig } from './refusal.js';
import { identityModel } from './tiny-models.js';

const TWO_HEAD = path.join(GENERATED, 'two-head.onnx');

describe('kiln refuses, before allocating, what would exhaust the runner', () => {
  it('a profile batch of 1e9 on a dynamic dim: one line naming the key path, the bytes and the limit', async () => {
    const config = twoHeadConfig().replace(
      '{ x: [2, 8], ids: [2, 4] }',
      '{ x: [1000000000, 8], ids: [1000000000, 4] }',
    );
    const dir = await workspace(config, { 'model.onnx': TWO_HEAD });
    await expectRefused(
      dir,
      /kiln\.yaml: models\[0\]\.profiles\[0\]\.shapes\.x: 1000000000x8 float32 is 32000000000 bytes, over the 1073741824-byte limit \(limits\.maxTensorBytes\)/,
    );
  });

  it('a model whose own fixed dim is 1e9', async () => {
    const config = twoHeadConfig().replace('{ x: [2, 8], ids: [2, 4] }', '{ x: [1000000000, 4] }');
    const dir = await workspace(config);
    await writeFile(path.join(dir, 'model.onnx'), identityModel([1_000_000_000, 4]));
    await expectRefused(dir, /profiles\[0\]\.shapes\.x: 1000000000x4 float32 is 16000000000 bytes, over/);
  });

  it('synthetic golden samples over limits.maxGoldenBytes (a PR may lower a limit)', async () => {
    const dir = await workspace(twoHeadConfig('', 'limits: { maxGoldenBytes: 200 }\n'), {
      'model.onnx': TWO_HEAD,
    });
    await expectRefused(
      dir,
      /golden inputs of profile 'b2': 4 synthetic samples are 512 bytes, over the 200-byte limit/,
    );
  });

  it('a golden .npy larger than limits.maxTensorBytes is refused from its size, before its body is read', async () => {
    const config = twoHeadConfig('    golden: { inputs: golden }\n', 'limits: { maxTensorBytes: 150 }\n');
    const dir = await workspace(config, { 'model.onnx': TWO_HEAD });
    await writeNpy(path.join(dir, 'golden', 'b2', 'x.npy'), allocateTensor('float32', [2, 8]));
    await writeNpy(path.join(dir, 'golden', 'b2', 'ids.npy'), allocateTensor('int64', [2, 4]));
    await expectRefused(
      dir,
      /golden\/b2\/(ids|x)\.npy: \.npy file is 192 bytes, over the 150-byte limit \(limits\.maxTensorBytes\)/,
    );
  });

  it('a calibration set over limits.maxCalibrationBytes names the limit for all files together', async () => {
    const config = twoHeadConfig(
      '    precisions: [int8]\n    calibration: { data: calib }\n',
      'limits: { maxCalibrationBytes: 1000 }\n',
    );
    const dir = await workspace(config, { 'model.onnx': TWO_HEAD });
    for (let i = 0; i < 8; i++) {
      await writeNpy(path.join(dir, 'calib', `s${i}`, 'x.npy'), allocateTensor('float32', [2, 8]));
      await writeNpy(path.join(dir, 'calib', `s${i}`, 'ids.npy'), allocateTensor('int64', [2, 4]));
    }
    await expectRefused(
      dir,
      /calib\/s\d\/(x|ids)\.npy: \.npy file is 192 bytes, over the \d+-byte limit \(limits\.maxCalibrationBytes or KILN_MAX_CALIBRATION_BYTES, for all files together\)/,
    );
  });

  it('kiln.yaml cannot raise the runner’s ceiling: KILN_MAX_TENSOR_BYTES wins over a larger config value', async () => {
    const dir = await workspace(twoHeadConfig('', 'limits: { maxTensorBytes: 1000000000000 }\n'), {
      'model.onnx': TWO_HEAD,
    });
    await expectRefused(dir, /shapes\.x: 2x8 float32 is 64 bytes, over the 32-byte limit/, ['build'], {
      KILN_MAX_TENSOR_BYTES: '32',
    });
  });

  it('a bad KILN_MAX_* value is one line naming the variable', async () => {
    const dir = await workspace(twoHeadConfig(), { 'model.onnx': TWO_HEAD });
    await expectRefused(
      dir,
      /KILN_MAX_GOLDEN_BYTES: found "lots", expected a whole number of bytes >= 1/,
      ['build'],
      {
        KILN_MAX_GOLDEN_BYTES: 'lots',
      },
    );
  });

  it('profiles suggest with 100,000 distinct shapes is refused in one line instead of running for hours', async () => {
    const dir = await workspace('version: 1\n');
    const lines = Array.from({ length: 100_000 }, (_, i) => `1x${i + 1},1`);
    await writeFile(path.join(dir, 'shapes.csv'), `${lines.join('\n')}\n`);
    const run = await runKiln(['profiles', 'suggest', '--shapes', 'shapes.csv'], dir);
    expect(run.stderr.trim()).toBe(
      'kiln: shapes.csv: 100000 distinct shapes, expected at most 2000 (round the logged shapes to coarser steps first, e.g. sequence lengths to multiples of 8)',
    );
    expect(run.exitCode).toBe(2);
  });
});

describe('limits arithmetic', () => {
  it('the config lowers but never raises; the environment sets the ceiling', () => {
    const runner = runnerLimits({ KILN_MAX_CALIBRATION_BYTES: '5000' });
    expect(runner).toEqual({ ...DEFAULT_LIMITS, maxCalibrationBytes: 5000 });
    expect(effectiveLimits(runner, { maxCalibrationBytes: 9000, maxTensorBytes: 10 })).toEqual({
      maxTensorBytes: 10,
      maxGoldenBytes: DEFAULT_LIMITS.maxGoldenBytes,
      maxCalibrationBytes: 5000,
    });
  });
});
