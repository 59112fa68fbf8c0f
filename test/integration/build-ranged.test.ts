import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { expect, it } from 'vitest';
import type { BuildResults } from '../../src/core/results.js';
import { FAST_BENCH, GENERATED, runKiln, workspace } from '../helpers/kiln-cli.js';

it('a ranged profile pins the dims min and max agree on, and golden-checks opt, min and max', async () => {
  const config = `version: 1
models:
  - name: two-head
    path: model.onnx
    profiles:
      - name: b1-4
        min: { x: [1, 8], ids: [1, 4] }
        opt: { x: [2, 8], ids: [2, 4] }
        max: { x: [4, 8], ids: [4, 4] }
    golden: { samples: 3 }
${FAST_BENCH}`;
  const dir = await workspace(config, { 'model.onnx': path.join(GENERATED, 'two-head.onnx') });
  const run = await runKiln(['build', '--json', 'r.json'], dir);
  expect(run.exitCode).toBe(0);
  const engine = (JSON.parse(await readFile(path.join(dir, 'r.json'), 'utf8')) as BuildResults).engines[0]!;
  expect(engine.golden.pass).toBe(true);
  expect(engine.golden.samples).toBe(3);
  const session = await ort.InferenceSession.create(engine.enginePath);
  const [x] = session.inputMetadata;
  expect(x?.isTensor && x.shape[1]).toBe(8);
  expect(x?.isTensor && typeof x.shape[0]).toBe('string');
  await session.release();
});
