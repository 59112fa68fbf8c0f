import type { BenchConfig, GatesConfig } from '../core/config-schema.js';
import { compareLatency } from '../core/latency-regression.js';
import type { EngineResult, LatencyComparison } from '../core/results.js';
import { summarize, windowsAgree } from '../core/statistics.js';
import type { HostTensor } from '../core/tensor.js';
import type { Backend } from '../backends/backend.js';
import { systemClock, type Clock } from './clock.js';
import { STABILITY_WINDOW } from './latency-bench.js';

/** Runs per turn before switching sides: short turns cancel drift, long ones amortize cache effects. */
const RUNS_PER_TURN = 5;

export interface AbSamples {
  base: number[];
  head: number[];
}

/**
 * Interleaved A/B timing (ABAB… in turns of RUNS_PER_TURN) of two engines on the same inputs, so a
 * noisy neighbour or thermal drift lands on both sides alike. Stops once both sides have
 * `minSamples` and are stable, or at the time budget (doubled: two engines share it) or `maxSamples`.
 */
export async function interleavedSamples(
  base: () => Promise<unknown>,
  head: () => Promise<unknown>,
  settings: Pick<BenchConfig, 'warmup' | 'minSamples' | 'maxSamples' | 'budgetMs' | 'stabilityPct'>,
  clock: Clock = systemClock,
): Promise<AbSamples> {
  for (let i = 0; i < settings.warmup; i++) {
    await base();
    await head();
  }
  const samples: AbSamples = { base: [], head: [] };
  const deadline = clock.now() + 2 * settings.budgetMs;
  while (samples.head.length < settings.maxSamples) {
    for (const [run, into] of [
      [base, samples.base],
      [head, samples.head],
    ] as const) {
      for (let i = 0; i < RUNS_PER_TURN; i++) {
        const start = clock.now();
        await run();
        into.push(clock.now() - start);
      }
    }
    if (samples.head.length < settings.minSamples) continue;
    const stable = (s: number[]) => windowsAgree(s, STABILITY_WINDOW, settings.stabilityPct);
    if (clock.now() >= deadline || (stable(samples.base) && stable(samples.head))) break;
  }
  return samples;
}

/** Compares a head engine with its merge-base twin on this machine. */
export async function compareEngines(options: {
  backend: Backend;
  head: EngineResult;
  base: EngineResult | undefined;
  inputs: Record<string, HostTensor>;
  bench: BenchConfig;
  gates: GatesConfig;
  clock?: Clock;
}): Promise<LatencyComparison> {
  const { head, base, gates } = options;
  const label = {
    model: head.model,
    profile: head.profile,
    precision: head.precision,
    target: head.target,
    metric: gates.latency.metric,
    confidence: gates.latency.confidence,
    maxRegressionPct: gates.latency.maxRegressionPct,
  };
  const threads = { threads: options.bench.threads };
  const headSession = await options.backend.openEngine(head.enginePath, threads);
  try {
    if (!base) {
      const samples = await interleavedSamples(
        async () => {},
        headSession.bind(options.inputs),
        options.bench,
        options.clock,
      );
      return { ...label, head: brief(samples.head), verdict: 'new' };
    }
    const baseSession = await options.backend.openEngine(base.enginePath, threads);
    try {
      const samples = await interleavedSamples(
        baseSession.bind(options.inputs),
        headSession.bind(options.inputs),
        options.bench,
        options.clock,
      );
      const stable = (s: number[]) => windowsAgree(s, STABILITY_WINDOW, options.bench.stabilityPct);
      const verdict = compareLatency(samples.base, samples.head, {
        metric: gates.latency.metric,
        maxRegressionPct: gates.latency.maxRegressionPct,
        confidence: gates.latency.confidence,
        baseStable: stable(samples.base),
        headStable: stable(samples.head),
      });
      return { ...label, base: brief(samples.base), head: brief(samples.head), ...verdict };
    } finally {
      await baseSession.release();
    }
  } finally {
    await headSession.release();
  }
}

function brief(samples: number[]): { p50: number; p90: number; p99: number; n: number } {
  const s = summarize(samples);
  return { p50: s.p50, p90: s.p90, p99: s.p99, n: s.n };
}
