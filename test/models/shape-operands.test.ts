import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BuildResults } from '../../src/core/results.js';
import { writeNpy } from '../../src/core/io/npy-files.js';
import { FAST_BENCH, runKiln, workspace } from '../helpers/kiln-cli.js';
import { DataType, node, tensorInfo, writeModel } from './model-files.js';

/** x float32 [N,6], target int64 [2] → y = Reshape(x, target): the target is a shape fed as an input. */
async function reshapeModel(dir: string): Promise<void> {
  await writeModel(dir, 'reshape.onnx', {
    input: [tensorInfo('x', DataType.FLOAT, ['N', 6]), tensorInfo('target', DataType.INT64, [2])],
    output: [tensorInfo('y', DataType.FLOAT, [null, null])],
    node: [node('Reshape', ['x', 'target'], ['y'])],
  });
}

const config = (golden: string) => `version: 1
models:
  - name: reshape
    path: reshape.onnx
    profiles: [{ name: b2, shapes: { x: [2, 6] } }]
    golden: { samples: 1${golden} }
${FAST_BENCH}`;

describe('inputs that are shapes (a Reshape target fed as an input)', () => {
  it('are recognised: synthetic golden inputs are refused before any compile, naming the input and its use', async () => {
    const dir = await workspace(config(''));
    await reshapeModel(dir);
    const run = await runKiln(['build'], dir);
    expect(run.exitCode).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^kiln: \S*reshape\.onnx: model input 'target' is the shape operand of Reshape 'Reshape_y', which random values cannot fill: supply real golden inputs with \S*kiln\.yaml: models\[0\]\.golden\.inputs \(or list its values in the preprocessing manifest\)$/,
    );
    expect(run.stderr).not.toContain('compile');
  });

  it('build and golden-check with real inputs from golden.inputs (the static target left out of the profile)', async () => {
    const dir = await workspace(config(', inputs: golden'));
    await reshapeModel(dir);
    await writeNpy(path.join(dir, 'golden/b2/x.npy'), {
      dtype: 'float32',
      shape: [2, 6],
      data: Float32Array.from({ length: 12 }, (_, i) => i / 7),
    });
    await writeNpy(path.join(dir, 'golden/b2/target.npy'), {
      dtype: 'int64',
      shape: [2],
      data: BigInt64Array.from([3n, 4n]),
    });
    const run = await runKiln(['build', '--json', 'out/r.json'], dir);
    expect(run.exitCode).toBe(0);
    const results = JSON.parse(await readFile(path.join(dir, 'out/r.json'), 'utf8')) as BuildResults;
    expect(results.engines.map((e) => [e.golden.pass, e.golden.source, e.golden.outputs[0]!.shape])).toEqual([
      [true, 'npy', [3, 4]],
    ]);
  });
});
