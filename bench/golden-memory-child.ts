/**
 * One golden check of the 12-output model in a fresh process, so its peak RSS is its own:
 * `node golden-memory-child.js <model.onnx> <engine.ort> <recordDir> <bounded|all-at-once>`.
 * Prints `{ baselineBytes, peakBytes }` as JSON: RSS with both sessions open and the inputs drawn,
 * and the process's peak RSS after the check.
 */
import { OnnxRuntimeCpuBackend } from '../src/backends/onnxruntime/onnxruntime-cpu.js';
import { describeModel, loadOnnxModel } from '../src/backends/model/onnx-model.js';
import { SeededRandom, synthesizeTensor } from '../src/core/seeded-random.js';
import type { HostTensor } from '../src/core/tensor.js';
import { goldenRecordWriter } from '../src/pipeline/golden-record.js';
import { goldenGroups } from '../src/pipeline/golden-output-groups.js';
import { runGoldenSuite } from '../src/pipeline/golden-suite.js';

const [modelPath, enginePath, recordDir, mode] = process.argv.slice(2) as [string, string, string, string];
const backend = new OnnxRuntimeCpuBackend();
const description = describeModel((await loadOnnxModel(modelPath)).model);
const reference = await backend.openReference(modelPath, { threads: 1 });
const engine = await backend.openEngine(enginePath, { threads: 1 });
const samples = [1, 2].map((seed) => ({
  x: synthesizeTensor(new SeededRandom(seed), 'float32', [1, 1, 1024, 1024], { min: -1, max: 1 }),
}));
const recorder = goldenRecordWriter(recordDir);
// What holding every output costs: one run fetching all of them, each reference output kept in memory.
const kept: Array<[number, string, HostTensor]> = [];
const baselineBytes = process.memoryUsage().rss;
const run = await runGoldenSuite({
  reference,
  engine,
  samples,
  precision: 'fp32',
  source: 'synthetic',
  ...(mode === 'bounded'
    ? { groups: (sample, names) => goldenGroups(description, sample, names), record: recorder.output }
    : {
        groups: (_sample, names) => [[...names]],
        record: async (i, name, tensor) => void kept.push([i, name, tensor]),
      }),
});
if (mode === 'all-at-once') for (const [i, name, tensor] of kept) await recorder.output(i, name, tensor);
await recorder.finish(samples);
const peakBytes = process.resourceUsage().maxRSS * 1024;
await Promise.all([reference.release(), engine.release()]);
if (!run.result.pass) throw new Error(`golden check failed: ${run.result.failure ?? ''}`);
process.stdout.write(`${JSON.stringify({ baselineBytes, peakBytes })}\n`);
