import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/io/config-load.js';
import type { BuildResults } from '../../src/core/results.js';
import type { Backend } from '../../src/backends/backend.js';
import { OnnxRuntimeCpuBackend } from '../../src/backends/onnxruntime/onnxruntime-cpu.js';
import { buildTarget } from '../../src/pipeline/build-target.js';
import { silentProgress } from '../../src/pipeline/progress.js';
import { FAST_BENCH, PPOCR, runKiln, storeFiles, workspace } from '../helpers/kiln-cli.js';

const config = (tolerance = '') => `version: 1
models:
  - name: det
    path: det.onnx
    profiles: [{ name: s64, shapes: { x: [1, 3, 64, 64] } }]
    golden: { samples: 2${tolerance} }
  - name: cls
    path: cls.onnx
    profiles:
      - { name: b1, shapes: { x: [1, 3, 48, 192] } }
      - { name: b2, shapes: { x: [2, 3, 48, 192] } }
${FAST_BENCH}`;

const models = { 'det.onnx': PPOCR.det, 'cls.onnx': PPOCR.cls };

describe('kiln build on the real PP-OCR models', () => {
  it('builds detector and classifier engines that match the reference within fp32 tolerance', async () => {
    const dir = await workspace(config(), models);
    const run = await runKiln(['build', '--json', 'results.json'], dir);
    expect(run.exitCode).toBe(0);
    const results = JSON.parse(await readFile(path.join(dir, 'results.json'), 'utf8')) as BuildResults;
    expect(results.engines.map((e) => `${e.model}/${e.profile}`)).toEqual(['det/s64', 'cls/b1', 'cls/b2']);
    for (const engine of results.engines) {
      expect(engine.golden.pass).toBe(true);
      expect(engine.golden.outputs[0]!.maxAbsDiff).toBeLessThan(1e-4);
    }
    // The classifier's softmax is dense, so direction agreement is measurable; the detector's map on
    // synthetic noise is ~0 everywhere, where cosine says nothing and max abs diff is the check.
    for (const engine of results.engines.slice(1))
      expect(engine.golden.outputs[0]!.cosine).toBeGreaterThan(0.9999);
    expect(results.engines[2]!.golden.outputs[0]!.shape).toEqual([2, 2]);
  });

  it('a tolerance of zero fails the gate with exit 1, naming the tensor, and stores nothing for it', async () => {
    const dir = await workspace(config(', tolerance: { atol: 0, rtol: 0 }'), models);
    const run = await runKiln(['build', '--model', 'det'], dir);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /golden gate failed for 1 engine\(s\); first: det\/s64\/fp32 on cpu: output 'sigmoid_0\.tmp_0': \d+ of 4096 elements outside atol 0 \+ rtol 0 \(max abs diff [\d.e-]+ at \[0,0,\d+,\d+\]/,
    );
    expect((await storeFiles(path.join(dir, '.kiln/store'))).filter((f) => !f.startsWith('.'))).toEqual([]);
  });

  it('a broken engine (outputs off by 1e-2 at one element) is caught and kept out of the store', async () => {
    const dir = await workspace(config(), models);
    const loaded = await loadConfig(path.join(dir, 'kiln.yaml'));
    const cpu = new OnnxRuntimeCpuBackend();
    const broken: Backend = Object.assign(Object.create(cpu) as Backend, {
      async openEngine(enginePath: string, options: { threads: number }) {
        const session = await cpu.openEngine(enginePath, options);
        return {
          ...session,
          inputNames: session.inputNames,
          outputNames: session.outputNames,
          async run(inputs: Parameters<typeof session.run>[0]) {
            const outputs = await session.run(inputs);
            const first = Object.values(outputs)[0]!;
            (first.data as Float32Array)[1] += 1e-2;
            return outputs;
          },
        };
      },
    });
    const results = await buildTarget({
      config: loaded,
      target: loaded.targets[0]!,
      backend: broken,
      models: ['cls'],
      progress: silentProgress,
    });
    expect(results.gates.golden).toBe('fail');
    expect(results.engines.map((e) => e.golden.pass)).toEqual([false, false]);
    expect(results.engines[0]!.golden.failure).toMatch(
      /^output 'softmax_0\.tmp_0': 1 of 2 elements .* at \[0,1\]/,
    );
    expect(results.engines[0]!.enginePath).toBe('');
    expect((await storeFiles(loaded.storeDir)).filter((f) => !f.startsWith('.'))).toEqual([]);
  });
});
