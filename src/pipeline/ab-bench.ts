import type { BenchConfig, GatesConfig } from '../core/config-schema.js';
import type { EngineResult, LatencyComparison } from '../core/results.js';
import { summarize } from '../core/statistics.js';
import type { HostTensor } from '../core/tensor.js';
import type { Backend, EngineSession } from '../backends/backend.js';
import {
  interleavedBlocks,
  interleavedRuns,
  type AbMeasurement,
  type AbSettings,
} from './ab-sampling-loop.js';
import { systemClock, type Clock } from './clock.js';

export { interleavedBlocks, interleavedRuns, type AbMeasurement, type AbSettings };

/**
 * Times `base` against `head` on the same inputs and judges the difference: blocks of inferences
 * inside the tool when both sessions time themselves per process (trtexec), single interleaved
 * runs timed from JS otherwise (in-process ONNX Runtime).
 */
export async function measureAb(
  base: EngineSession,
  head: EngineSession,
  inputs: Record<string, HostTensor>,
  settings: AbSettings,
  clock: Clock = systemClock,
): Promise<AbMeasurement> {
  if (base.timedBlock && head.timedBlock) {
    const [b, h] = [base.timedBlock.bind(base), head.timedBlock.bind(head)];
    return interleavedBlocks(
      (n) => b(inputs, n),
      (n) => h(inputs, n),
      settings,
      clock,
    );
  }
  return interleavedRuns(base.bind(inputs), head.bind(inputs), settings, clock);
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
  const settings: AbSettings = { ...options.bench, ...gates.latency };
  const threads = { threads: options.bench.threads };
  const headSession = await options.backend.openEngine(head.enginePath, threads);
  try {
    const measures = headSession.measures ? { measures: headSession.measures } : {};
    if (!base) {
      // Nothing to compare with: the head against itself, for its own figures only.
      const m = await measureAb(headSession, headSession, options.inputs, settings, options.clock);
      return { ...label, ...measures, head: brief(m.head), verdict: 'new' };
    }
    const baseSession = await options.backend.openEngine(base.enginePath, threads);
    try {
      const m = await measureAb(baseSession, headSession, options.inputs, settings, options.clock);
      return {
        ...label,
        ...measures,
        base: brief(m.base),
        head: brief(m.head),
        ...m.decision,
        budgetMs: m.plan.budgetMs,
        ...(m.blocks ? { blocks: m.blocks } : {}),
      };
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
