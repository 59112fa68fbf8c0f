import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../src/core/io/file-hashing.js';
import { writeNpy } from '../../src/core/io/npy-files.js';
import { SeededRandom, synthesizeTensor } from '../../src/core/seeded-random.js';
import type { BuildResults } from '../../src/core/results.js';
import type { ArtifactRecord } from '../../src/store/artifact.js';
import {
  BIAS,
  expectedRow,
  matMulAddModel,
  WEIGHTS,
  writeWeightFile,
} from '../helpers/external-data-models.js';
import { FAST_BENCH, runKiln, workspace } from '../helpers/kiln-cli.js';

const CONFIG = `version: 1
models:
  - name: one-file
    path: one/model.onnx
    profiles:
      - name: b2
        shapes: { x: [2, 4] }
    golden: { samples: 2, seed: 3 }
  - name: two-files
    path: two/model.onnx
    profiles:
      - name: b2
        shapes: { x: [2, 4] }
    golden: { samples: 2, seed: 3 }
${FAST_BENCH}`;

/** `one/`: W and B in one weights.data (B at offset 64); `two/`: W in w/matmul.data, B in bias.data. */
async function project(): Promise<string> {
  const dir = await workspace(CONFIG);
  const one = path.join(dir, 'one');
  await writeWeightFile(one, 'weights.data', [
    [0, WEIGHTS],
    [64, BIAS],
  ]);
  await writeFile(
    path.join(one, 'model.onnx'),
    matMulAddModel({ location: 'weights.data', offset: 0 }, { location: 'weights.data', offset: 64 }),
  );
  const two = path.join(dir, 'two');
  await writeWeightFile(two, 'w/matmul.data', [[0, WEIGHTS]]);
  await writeWeightFile(two, 'bias.data', [[16, BIAS]]);
  await writeFile(
    path.join(two, 'model.onnx'),
    matMulAddModel({ location: 'w/matmul.data', offset: 0 }, { location: 'bias.data', offset: 16 }),
  );
  return dir;
}

async function build(dir: string): Promise<{ exitCode: number; stderr: string; results: BuildResults }> {
  const run = await runKiln(['build', '--json', 'out/results.json'], dir);
  const results = JSON.parse(await readFile(path.join(dir, 'out/results.json'), 'utf8')) as BuildResults;
  return { exitCode: run.exitCode, stderr: run.stderr, results };
}

const byModel = (results: BuildResults, model: string) => results.engines.find((e) => e.model === model)!;

describe('kiln build on models whose weights are external data (issue 14)', () => {
  let dir: string;
  let first: Awaited<ReturnType<typeof build>>;

  beforeAll(async () => {
    dir = await project();
    first = await build(dir);
  });

  it('builds both models through the CLI and passes their golden checks', () => {
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.exitCode).toBe(0);
    expect(first.results.engines.map((e) => [e.model, e.cache, e.golden.pass])).toEqual([
      ['one-file', 'miss', true],
      ['two-files', 'miss', true],
    ]);
  });

  it('keys every external file by its sha256, under its location', async () => {
    const record = JSON.parse(
      await readFile(
        path.join(path.dirname(byModel(first.results, 'two-files').enginePath), 'artifact.json'),
        'utf8',
      ),
    ) as ArtifactRecord;
    expect(record.keyInputs.externalData).toEqual({
      'bias.data': await sha256File(path.join(dir, 'two', 'bias.data')),
      'w/matmul.data': await sha256File(path.join(dir, 'two', 'w', 'matmul.data')),
    });
    expect(record.keyInputs.model).toBe(await sha256File(path.join(dir, 'two', 'model.onnx')));
  });

  it('stores an engine that runs on its own: the weights came from the external files', async () => {
    // A copy of the stored artifact far from the model's folder: nothing may reach back to the .data files.
    const elsewhere = await mkdtemp(path.join(os.tmpdir(), 'kiln-ext-artifact-'));
    try {
      for (const model of ['one-file', 'two-files']) {
        const stored = path.dirname(byModel(first.results, model).enginePath);
        await cp(stored, path.join(elsewhere, model), { recursive: true });
        const session = await ort.InferenceSession.create(path.join(elsewhere, model, 'engine.ort'));
        const x = [1, 2, -1, 0.5, 0, 0, 0, 1];
        const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x), [2, 4]) });
        await session.release();
        const y = [...(out.y!.data as Float32Array)];
        const expected = [...expectedRow(x.slice(0, 4)), ...expectedRow(x.slice(4))];
        y.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
      }
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('hits the cache on the second run, and one changed byte in one .data file rebuilds only that model', async () => {
    const again = await build(dir);
    expect(again.exitCode).toBe(0);
    expect(again.results.engines.map((e) => [e.model, e.cache])).toEqual([
      ['one-file', 'hit'],
      ['two-files', 'hit'],
    ]);
    const bias = path.join(dir, 'two', 'bias.data');
    const bytes = await readFile(bias);
    bytes[bytes.length - 1]! ^= 0x01;
    await writeFile(bias, bytes);
    const changed = await build(dir);
    expect(changed.exitCode).toBe(0);
    expect(changed.results.engines.map((e) => [e.model, e.cache, e.golden.pass])).toEqual([
      ['one-file', 'hit', true],
      ['two-files', 'miss', true],
    ]);
    expect(byModel(changed.results, 'two-files').key).not.toBe(byModel(first.results, 'two-files').key);
    expect(byModel(changed.results, 'one-file').key).toBe(byModel(first.results, 'one-file').key);
  });
});

describe('int8 on a model whose weights are external data', () => {
  it('calibrates and quantizes it (the weights are read into the graph first) and passes golden', async () => {
    const dir = await workspace(`version: 1
models:
  - name: ext
    path: m/model.onnx
    precisions: [int8]
    calibration: { data: calib }
    profiles:
      - name: b2
        shapes: { x: [2, 4] }
${FAST_BENCH}`);
    await writeWeightFile(path.join(dir, 'm'), 'w.data', [
      [0, WEIGHTS],
      [64, BIAS],
    ]);
    await writeFile(
      path.join(dir, 'm', 'model.onnx'),
      matMulAddModel({ location: 'w.data', offset: 0 }, { location: 'w.data', offset: 64 }),
    );
    for (let i = 0; i < 4; i++) {
      const x = synthesizeTensor(new SeededRandom(i), 'float32', [2, 4], { min: -1, max: 1 });
      await writeNpy(path.join(dir, 'calib', String(i), 'x.npy'), x);
    }
    const { exitCode, stderr, results } = await build(dir);
    expect(stderr).not.toMatch(/internal error/);
    expect(exitCode).toBe(0);
    expect(results.engines.map((e) => [e.precision, e.cache, e.golden.pass])).toEqual([
      ['int8', 'miss', true],
    ]);
  });
});
