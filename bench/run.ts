/**
 * `npm run bench`: kiln's speed figures as ratios measured side by side in one run on this machine.
 * Absolute times vary by host; the ratios are what the README quotes.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { loadConfig } from '../src/core/io/config-load.js';
import { SeededRandom, synthesizeTensor } from '../src/core/seeded-random.js';
import { OnnxRuntimeCpuBackend } from '../src/backends/onnxruntime/onnxruntime-cpu.js';
import { buildTarget } from '../src/pipeline/build-target.js';
import { sampleRuns } from '../src/pipeline/latency-bench.js';
import { silentProgress } from '../src/pipeline/progress.js';
import { systemClock } from '../src/pipeline/clock.js';
import { interleaved, line, median, spread } from './measure.js';
import { regressionRates } from './regression-rates.js';
import { realAbRates } from './ab-real.js';
import { int8Figures } from './int8.js';
import { mixedPrecisionFigures } from './int8-mixed.js';
import { cliStartupFigures } from './cli-startup.js';
import { goldenMemoryFigures } from './golden-memory.js';
import { noopPathFigures } from './noop-path.js';

const root = process.cwd();
const models = path.join(root, 'node_modules', '@gutenye', 'ocr-models', 'assets');
const DET = path.join(models, 'ch_PP-OCRv4_det_infer.onnx');
const CLS = path.join(models, 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
const log = (text: string) => process.stdout.write(`${text}\n`);
const progress = (text: string) => process.stderr.write(`bench: ${text}\n`);
const one = { threads: 1 };
const quiet = { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 } as const;

async function compile(model: string, shape: number[], dir: string): Promise<string> {
  const backend = new OnnxRuntimeCpuBackend();
  await backend.compile({
    modelPath: model,
    profile: { name: 'bench', shapes: { x: shape } },
    precision: 'fp32',
    outDir: dir,
  });
  return path.join(dir, 'engine.ort');
}

function feeds(shape: number[]) {
  const t = synthesizeTensor(new SeededRandom(1), 'float32', shape, { min: 0, max: 1 });
  return { x: t };
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-bench-'));
  const backend = new OnnxRuntimeCpuBackend();
  const shape = [1, 3, 384, 384];
  log(
    `kiln bench on ${os.cpus()[0]?.model ?? 'cpu'} (${os.cpus().length} cores), ORT ${ort.env.versions.node}, 1 intra-op thread\n`,
  );
  log(`${'figure'.padEnd(46)} ${'ratio'.padStart(7)}   goal`);
  try {
    progress('compiling PP-OCRv4 det 1x3x384x384');
    const engineFile = await compile(DET, shape, work);
    const input = feeds(shape);

    progress('engine vs unoptimized reference vs default dynamic session (interleaved)');
    const engine = await backend.openEngine(engineFile, one);
    const reference = await backend.openReference(DET, one);
    const dynamic = await ort.InferenceSession.create(DET, quiet);
    const dynFeeds = { x: new ort.Tensor('float32', input.x.data, shape) };
    const runEngine = engine.bind(input);
    const runRef = reference.bind(input);
    for (const run of [runEngine, runRef, () => dynamic.run(dynFeeds)])
      for (let i = 0; i < 3; i++) await run();
    const vsRef = await interleaved(runEngine, runRef, 8, 5);
    const vsDyn = await interleaved(runEngine, () => dynamic.run(dynFeeds), 16, 3);
    const r1 = vsRef.b / vsRef.a;
    log(
      line(
        'compiled vs unoptimized reference, det p50',
        r1,
        '>= 1.5',
        r1 >= 1.5,
        `${vsRef.a.toFixed(1)} ms vs ${vsRef.b.toFixed(1)} ms`,
      ),
    );
    const r2 = vsDyn.b / vsDyn.a;
    log(
      line(
        'kiln fp32 engine vs ORT default session, det',
        r2,
        '>= 1.1',
        r2 >= 1.1,
        `1 thread, ${vsDyn.a.toFixed(1)} ms vs ${vsDyn.b.toFixed(1)} ms, ${spread(vsDyn.ratios)}`,
      ),
    );
    await Promise.all([engine.release(), reference.release(), dynamic.release()]);

    progress('cold start: ORT-format engine vs .onnx (create + first run, interleaved)');
    const cold = { ort: [] as number[], onnx: [] as number[] };
    for (let i = 0; i < 6; i++) {
      for (const [file, into] of [
        [engineFile, cold.ort],
        [DET, cold.onnx],
      ] as const) {
        const start = performance.now();
        const s = await ort.InferenceSession.create(file, quiet);
        await s.run(dynFeeds);
        into.push(performance.now() - start);
        await s.release();
      }
    }
    const r3 = median(cold.ort) / median(cold.onnx);
    log(
      line(
        'cold start, ORT-format engine vs .onnx',
        r3,
        '<= 0.6',
        r3 <= 0.6,
        `${median(cold.ort).toFixed(0)} ms vs ${median(cold.onnx).toFixed(0)} ms`,
      ),
    );

    progress('bench harness vs a bare session.run loop (cls 1x3x48x192, interleaved)');
    const clsFile = await compile(CLS, [1, 3, 48, 192], await mkdtemp(path.join(work, 'cls-')));
    const cls = await ort.InferenceSession.create(clsFile, quiet);
    const clsInput = feeds([1, 3, 48, 192]);
    const clsFeeds = { x: new ort.Tensor('float32', clsInput.x.data, [1, 3, 48, 192]) };
    const settings = {
      warmup: 0,
      minSamples: 200,
      maxSamples: 200,
      budgetMs: 1e9,
      stabilityPct: 0.0001,
      threads: 1,
    };
    const harness = { a: [] as number[], b: [] as number[] };
    for (let r = 0; r < 10; r++) {
      let start = performance.now();
      await sampleRuns(() => cls.run(clsFeeds), settings, systemClock);
      harness.a.push((performance.now() - start) / 200);
      start = performance.now();
      for (let i = 0; i < 200; i++) await cls.run(clsFeeds);
      harness.b.push((performance.now() - start) / 200);
    }
    const r5 = median(harness.a) / median(harness.b);
    log(
      line(
        'bench harness vs bare session.run loop',
        r5,
        '<= 1.02',
        r5 <= 1.02,
        `${(median(harness.a) * 1000).toFixed(0)} us vs ${(median(harness.b) * 1000).toFixed(0)} us per run`,
      ),
    );
    await cls.release();

    progress('example build: cold, then all cache hits');
    const example = path.join(work, 'example');
    await cp(path.join(root, 'examples', 'ocr'), example, {
      recursive: true,
      filter: (src) => !src.includes('.kiln'),
    });
    const config = await loadConfig(path.join(example, 'kiln.yaml'));
    const build = async () => {
      const start = performance.now();
      await buildTarget({
        config,
        target: config.targets[0]!,
        backend,
        models: [],
        progress: silentProgress,
      });
      return performance.now() - start;
    };
    const coldMs = await build();
    const hitMs = await build();
    const r4 = hitMs / coldMs;
    log(
      line(
        'cache-hit build vs cold build, example',
        r4,
        '<= 0.05',
        r4 <= 0.05,
        `${hitMs.toFixed(0)} ms vs ${(coldMs / 1000).toFixed(1)} s`,
      ),
    );
    progress('int8 vs fp32 engines (QDQ, percentile calibration on synthetic text images)');
    for (const text of await int8Figures()) log(text);
    progress('mixed precision on cls: sensitive nodes left fp32, agreement and speed vs fp32');
    for (const text of await mixedPrecisionFigures()) log(text);
    progress('latency regression detector on simulated noisy-runner A/B data');
    for (const text of await regressionRates()) log(text);
    progress('latency gate on real A/B runs: A/A and slowed variants of PP-OCR cls (kiln bench --base loop)');
    for (const text of await realAbRates(CLS, work)) log(text);
    progress('golden check memory: 12 outputs of 1x1x1024x1024, each mode in its own process');
    for (const text of await goldenMemoryFigures(work)) log(text);
    progress('CLI start: kiln --version vs bare node (whole processes, interleaved)');
    for (const text of await cliStartupFigures(root)) log(text);
    progress('no-op path: cache-hit build and kiln keys as whole processes (hash index cold and warm)');
    for (const text of await noopPathFigures(root, work)) log(text);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
