import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuildResults } from '../../src/core/results.js';
import { FAST_BENCH, runKiln, workspace } from '../helpers/kiln-cli.js';
import { DataType, node, tensorInfo, writeModel } from './model-files.js';

/** x float32 [N,4], sr int64 rank-0 (a sample rate), gain float32 [1,4] (static) → y = x·gain·float(sr). */
async function streamingModel(dir: string): Promise<void> {
  await writeModel(dir, 'stream.onnx', {
    input: [
      tensorInfo('x', DataType.FLOAT, ['N', 4]),
      tensorInfo('sr', DataType.INT64, []),
      tensorInfo('gain', DataType.FLOAT, [1, 4]),
    ],
    output: [tensorInfo('y', DataType.FLOAT, ['N', 4])],
    node: [
      node('Cast', ['sr'], ['sr_f'], DataType.FLOAT),
      node('Mul', ['x', 'gain'], ['xg']),
      node('Mul', ['xg', 'sr_f'], ['y']),
    ],
  });
}

/** a, b float32 [N,4] → a + b: one symbol shared by two inputs. */
async function sharedDimModel(dir: string): Promise<void> {
  await writeModel(dir, 'add.onnx', {
    input: [tensorInfo('a', DataType.FLOAT, ['N', 4]), tensorInfo('b', DataType.FLOAT, ['N', 4])],
    output: [tensorInfo('y', DataType.FLOAT, ['N', 4])],
    node: [node('Add', ['a', 'b'], ['y'])],
  });
}

const streamConfig = `version: 1
models:
  - name: stream
    path: stream.onnx
    profiles:
      - name: b2
        shapes: { x: [2, 4], sr: [] }
      - name: range
        min: { x: [1, 4] }
        opt: { x: [2, 4] }
        max: { x: [3, 4] }
    golden: { samples: 3 }
${FAST_BENCH}`;

describe('rank-0 inputs and inputs the model fixes completely', () => {
  let dir: string;
  let results: BuildResults;
  let first: { exitCode: number; stderr: string };

  beforeAll(async () => {
    dir = await workspace(streamConfig);
    await streamingModel(dir);
    first = await runKiln(['build', '--json', 'out/first.json'], dir);
    results = JSON.parse(await readFile(path.join(dir, 'out/first.json'), 'utf8')) as BuildResults;
  });

  it('builds with `sr: []`, and with sr and gain left out, and passes the golden check', () => {
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.exitCode).toBe(0);
    expect(results.engines.map((e) => [e.profile, e.cache, e.golden.pass])).toEqual([
      ['b2', 'miss', true],
      ['range', 'miss', true],
    ]);
  });

  it('pins the scalar and the static input at the model dims in the engine', async () => {
    const session = await ort.InferenceSession.create(results.engines[0]!.enginePath);
    expect(session.inputMetadata.map((m) => [m.name, m.isTensor ? m.shape : null])).toEqual([
      ['x', [2, 4]],
      ['sr', []],
      ['gain', [1, 4]],
    ]);
    await session.release();
  });

  it('writing the left-out inputs at the model dims keys the same engines (a cache hit)', async () => {
    const explicit = streamConfig.replace('{ x: [2, 4], sr: [] }', '{ gain: [1, 4], x: [2, 4], sr: [] }');
    await writeFile(path.join(dir, 'kiln.yaml'), explicit);
    const run = await runKiln(['build', '--json', 'out/explicit.json'], dir);
    await writeFile(path.join(dir, 'kiln.yaml'), streamConfig);
    expect(run.exitCode).toBe(0);
    const again = JSON.parse(await readFile(path.join(dir, 'out/explicit.json'), 'utf8')) as BuildResults;
    expect(again.engines[0]).toMatchObject({ key: results.engines[0]!.key, cache: 'hit' });
  });

  it('a second build is a cache hit for both engines', async () => {
    const second = await runKiln(['build', '--json', 'out/second.json'], dir);
    expect(second.exitCode).toBe(0);
    const again = JSON.parse(await readFile(path.join(dir, 'out/second.json'), 'utf8')) as BuildResults;
    expect(again.engines.map((e) => [e.key, e.cache])).toEqual(results.engines.map((e) => [e.key, 'hit']));
  });
});

describe('profile shapes kiln refuses in one line (exit 2)', () => {
  const refuse = async (shapes: string) => {
    const config = `version: 1\nmodels:\n  - name: add\n    path: add.onnx\n    profiles:\n      - name: p\n        shapes: ${shapes}\n`;
    const dir = await workspace(config);
    await sharedDimModel(dir);
    const run = await runKiln(['build'], dir);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    return run.stderr;
  };

  it('one symbolic dim given two values across inputs', async () => {
    expect(await refuse('{ a: [2, 4], b: [3, 4] }')).toContain(
      "kiln.yaml: models[0].profiles[0].shapes.b: dim 0 is 3 but the model names it 'N', which is 2 at a dim 0",
    );
  });

  it('an input with a dynamic dim left out', async () => {
    expect(await refuse('{ a: [2, 4] }')).toContain(
      "no shape for model input 'b' [?,4] (a profile needs every input with a dynamic dim: a, b)",
    );
  });

  it('a scalar shape for an input of rank 2', async () => {
    expect(await refuse('{ a: [], b: [2, 4] }')).toContain(
      "shapes.a: [] has rank 0, model input 'a' has rank 2 [?,4]",
    );
  });
});
