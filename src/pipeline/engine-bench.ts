import type { BenchConfig } from '../core/config-schema.js';
import type { EngineResult } from '../core/results.js';
import type { HostTensor } from '../core/tensor.js';
import type { Backend } from '../backends/backend.js';
import { benchShapes } from '../backends/model/profile-dims.js';
import type { Clock } from './clock.js';
import type { EngineJob } from './engine-jobs.js';
import { benchFor, measureLatency } from './latency-bench.js';
import type { Progress } from './progress.js';

export interface EngineBench {
  latency: Required<EngineResult['latency']>;
  /** reference p50 / engine p50. */
  speedup: number;
  benchMs: number;
}

/**
 * Times the engine at `enginePath`, then the reference model, on the golden sample whose shapes are
 * the profile's bench shapes, on the same machine in the same run.
 */
export async function benchEngine(
  job: EngineJob,
  enginePath: string,
  samples: Array<Record<string, HostTensor>>,
  ctx: { backend: Backend; bench: BenchConfig; progress: Progress; clock: Clock },
): Promise<EngineBench> {
  const { backend, clock } = ctx;
  const threads = { threads: ctx.bench.threads };
  const bench = benchFor(ctx.bench, job.model);
  ctx.progress.phase('bench', `engine and reference, up to ${bench.budgetMs} ms each…`);
  const started = clock.now();
  const inputs = pickBenchInputs(samples, benchShapes(job.profile));
  const engine = await measureLatency(() => backend.openEngine(enginePath, threads), inputs, bench, clock);
  const reference = await measureLatency(
    () => backend.openReference(job.model.path, threads),
    inputs,
    bench,
    clock,
  );
  const benchMs = clock.now() - started;
  const speedup = reference.p50 / engine.p50;
  ctx.progress.phase(
    'bench',
    `p50 ${engine.p50.toFixed(2)} ms, p99 ${engine.p99.toFixed(2)} ms (reference p50 ${reference.p50.toFixed(2)} ms, ${speedup.toFixed(2)}×${basisText(engine.measures, reference.measures)})${engine.stable ? '' : ', unstable'}`,
    benchMs,
  );
  return { latency: { engine, reference }, speedup, benchMs };
}

/** The first golden sample whose shapes are the bench shapes (for ranges: the opt sample). */
function pickBenchInputs(samples: Array<Record<string, HostTensor>>, shapes: Record<string, number[]>) {
  return (
    samples.find((s) =>
      Object.entries(shapes).every(([name, shape]) => s[name]?.shape.join('x') === shape.join('x')),
    ) ?? samples[0]!
  );
}

/** `: TensorRT GPU compute time (…) vs ONNX Runtime CPU wall time per session.run` when the sides differ. */
function basisText(engine: string | undefined, reference: string | undefined): string {
  return engine !== undefined && reference !== undefined && engine !== reference
    ? `: ${engine} vs ${reference}`
    : '';
}
