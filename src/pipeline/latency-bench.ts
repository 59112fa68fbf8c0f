import type { BenchConfig } from '../core/config-schema.js';
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

/**
 * Measures one session: cold start (create + first run) separately, then `warmup` discarded runs,
 * then timed runs until the last three windows agree within `stabilityPct` (and at least
 * `minSamples` were taken), or the time budget or `maxSamples` runs out. A run that never
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
  while (samples.length < settings.maxSamples) {
    const start = clock.now();
    await run();
    const end = clock.now();
    samples.push(end - start);
    if (samples.length >= settings.minSamples) {
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
