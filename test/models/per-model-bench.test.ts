import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuildResults } from '../../src/core/results.js';
import { runKiln, workspace } from '../helpers/kiln-cli.js';
import { DataType, node, tensorInfo, writeModel } from './model-files.js';

const GLOBAL = `bench: { warmup: 1, minSamples: 5, maxSamples: 20, budgetMs: 150, stabilityPct: 50 }\n`;
const models = (spotterBench: string) =>
  `version: 1\nmodels:\n` +
  `  - name: seg\n    path: seg.onnx\n    profiles: [{ name: b1, shapes: { x: [1, 8] } }]\n` +
  `  - name: spotter\n    path: spotter.onnx\n    profiles: [{ name: b1, shapes: { x: [1, 8] } }]\n` +
  spotterBench;

const relu = (dir: string, file: string) =>
  writeModel(dir, file, {
    input: [tensorInfo('x', DataType.FLOAT, ['N', 8])],
    output: [tensorInfo('y', DataType.FLOAT, ['N', 8])],
    node: [node('Relu', ['x'], ['y'])],
  });

const read = async (dir: string, file: string) =>
  JSON.parse(await readFile(path.join(dir, file), 'utf8')) as BuildResults;

describe('per-model bench settings in kiln.yaml', () => {
  let dir: string;
  let results: BuildResults;

  beforeAll(async () => {
    dir = await workspace(models(`    bench: { warmup: 0, maxSamples: 7, stabilityPct: 30 }\n`) + GLOBAL);
    await Promise.all([relu(dir, 'seg.onnx'), relu(dir, 'spotter.onnx')]);
    const run = await runKiln(['build', '--json', 'out/first.json'], dir);
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.exitCode).toBe(0);
    results = await read(dir, 'out/first.json');
  }, 120_000);

  it("a model's bench keys override the global ones for its engine only", () => {
    const latency = Object.fromEntries(results.engines.map((e) => [e.model, e.latency?.engine]));
    expect(latency.spotter).toMatchObject({ warmup: 0, stabilityPct: 30 });
    expect(latency.spotter!.n).toBeLessThanOrEqual(7);
    expect(latency.seg).toMatchObject({ warmup: 1, stabilityPct: 50 });
  });

  it('changing only per-model bench settings keys the same engines (bench is measurement, not build)', async () => {
    await writeFile(path.join(dir, 'kiln.yaml'), models(`    bench: { budgetMs: 100 }\n`) + GLOBAL);
    const again = await runKiln(['build', '--json', 'out/again.json'], dir);
    expect(again.exitCode).toBe(0);
    const rerun = await read(dir, 'out/again.json');
    expect(rerun.engines.map((e) => [e.key, e.cache])).toEqual(results.engines.map((e) => [e.key, 'hit']));
  }, 60_000);

  it('refuses a per-model threads key (threads stays global) in one line, exit 2', async () => {
    const bad = await workspace(models(`    bench: { threads: 4 }\n`) + GLOBAL);
    await Promise.all([relu(bad, 'seg.onnx'), relu(bad, 'spotter.onnx')]);
    const run = await runKiln(['build'], bad);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/models\[1\]\.bench/);
  }, 60_000);
});
