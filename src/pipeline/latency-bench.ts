import type { BenchConfig, ModelConfig } from '../core/config-schema.js';
import type { LatencyStats } from '../core/results.js';
import { summarize, windowsAgree } from '../core/statistics.js';
import type { HostTensor } from '../core/tensor.js';
import type { EngineSession } from '../backends/backend.js';
import { systemClock, type Clock } from './clock.js';

/** Samples per stability window: three windows of this size must agree (perf_analyzer's rule). */
export const STABILITY_WINDOW = 10;

export type BenchSettings = Pick<
  BenchConfig,
  'warmup' | 'minSamples' | 'maxSamples' | 'budgetMs' | 'stabilityPct' | 'threads'
>;

/** Fewest timed runs however slow one run is: below this p99 and the stability windows mean nothing. */
export const MIN_SAMPLES_FLOOR = 5;

/** The bench settings for one model: its `bench` keys over the global `bench`. */
export function benchFor(global: BenchConfig, model: Pick<ModelConfig, 'bench'>): BenchConfig {
  return { ...global, ...model.bench };
}

/**
 * How many timed runs the budget demands at least, given one run's measured time: `minSamples`
 * where the budget affords it, else as many as fit in `budgetMs`, but never under MIN_SAMPLES_FLOOR.
 * So a 1024×1024 segmentation model at 1 s a run takes 5 samples, not 20 s per session.
 */
export function sampleFloor(settings: BenchSettings, oneRunMs: number): number {
  const affordable = oneRunMs > 0 ? Math.floor(settings.budgetMs / oneRunMs) : settings.minSamples;
  return Math.min(settings.minSamples, Math.max(MIN_SAMPLES_FLOOR, affordable));
}

/**
 * Measures one session: cold start (create + first run) separately, then `warmup` discarded runs,
 * then timed runs until the last three windows agree within `stabilityPct` (and at least
 * `sampleFloor` runs were taken), or the time budget or `maxSamples` runs out. A run that never
 * stabilizes is reported with `stable: false` so nobody reads noise as a regression.
 */
export async function measureLatency(
  open: () => Promise<EngineSession>,
  inputs: Record<string, HostTensor>,
  settings: BenchSettings,
  clock: Clock = systemClock,
): Promise<LatencyStats> {
  const createStart = clock.now();
  const session = await open();
  const createMs = clock.now() - createStart;
  try {
    const run = session.bind(inputs);
    const firstStart = clock.now();
    await run();
    const firstRunMs = clock.now() - firstStart;
    // Tools that time themselves (trtexec --exportTimes) report device latency; JS timing around a
    // process launch would measure the launch.
    const samples = session.benchmark
      ? await session.benchmark(inputs, settings)
      : await sampleRuns(run, settings, clock);
    return {
      ...summarize(samples),
      ...(session.measures ? { measures: session.measures } : {}),
      stable: windowsAgree(samples, STABILITY_WINDOW, settings.stabilityPct),
      stabilityPct: settings.stabilityPct,
      warmup: settings.warmup,
      threads: settings.threads,
      coldStart: { createMs, firstRunMs },
    };
  } finally {
    await session.release();
  }
}

/** The timed loop, shared with `npm run bench`'s overhead measurement. */
export async function sampleRuns(
  run: () => Promise<unknown>,
  settings: BenchSettings,
  clock: Clock,
): Promise<number[]> {
  for (let i = 0; i < settings.warmup; i++) await run();
  const samples: number[] = [];
  const deadline = clock.now() + settings.budgetMs;
  let minSamples = settings.minSamples;
  while (samples.length < settings.maxSamples) {
    const start = clock.now();
    await run();
    const end = clock.now();
    samples.push(end - start);
    // The first timed run (after warmup) sizes the floor, so a heavy model's budget stays a budget.
    if (samples.length === 1) minSamples = sampleFloor(settings, end - start);
    if (samples.length >= minSamples) {
      if (end >= deadline) break;
      if (
        samples.length % STABILITY_WINDOW === 0 &&
        windowsAgree(samples, STABILITY_WINDOW, settings.stabilityPct)
      )
        break;
    }
  }
  return samples;
}
