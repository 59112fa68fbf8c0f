/**
 * The two A/B sampling loops: in-process sessions (ONNX Runtime) time single runs from JS,
 * interleaved in turns; tools that run as one process per measurement (trtexec) time blocks of
 * inferences inside the tool, interleaved base, head, head, base (ABBA), so a slow launch or a
 * drifting GPU clock lands on both sides alike. How many samples and how long: src/core/ab-sampling.ts.
 */
import {
  abPlan,
  budgetReason,
  certainAtLook,
  earlyLooks,
  lookConfidence,
  type AbPlan,
} from '../core/ab-sampling.js';
import type { BenchConfig } from '../core/config-schema.js';
import {
  compareLatency,
  compareLatencyBlocks,
  type CompareLatencyOptions,
  type LatencyDecision,
} from '../core/latency-regression.js';
import { windowsAgree } from '../core/statistics.js';
import { systemClock, type Clock } from './clock.js';
import { STABILITY_WINDOW } from './latency-bench.js';

/** Runs per turn before switching sides: short turns cancel drift, long ones amortize cache effects. */
const RUNS_PER_TURN = 5;
/** Blocks (processes) per side a block comparison aims for: the cluster bootstrap needs several. */
export const BLOCKS_PER_SIDE = 10;

export type AbSettings = Pick<BenchConfig, 'warmup' | 'budgetMs' | 'stabilityPct'> &
  Pick<CompareLatencyOptions, 'metric' | 'maxRegressionPct' | 'confidence'>;

export interface AbMeasurement {
  /** Every timed sample of each side, in run order (blocks concatenated). */
  base: number[];
  head: number[];
  decision: LatencyDecision;
  plan: AbPlan;
  /** Blocks (processes) per side, for the block loop. */
  blocks?: { base: number; head: number };
  /** Set when an early look was already certain (see src/core/ab-sampling.ts). */
  stoppedEarly?: boolean;
}

const gate = (s: AbSettings) => ({
  metric: s.metric,
  maxRegressionPct: s.maxRegressionPct,
  confidence: s.confidence,
});

/** Interleaved single runs (ABAB… in turns of RUNS_PER_TURN) until the plan's target, budget or a certain early look. */
export async function interleavedRuns(
  base: () => Promise<unknown>,
  head: () => Promise<unknown>,
  settings: AbSettings,
  clock: Clock = systemClock,
): Promise<AbMeasurement> {
  for (let i = 0; i < settings.warmup; i++) {
    await base();
    await head();
  }
  const start = clock.now();
  const samples = { base: [] as number[], head: [] as number[] };
  const timed = async (run: () => Promise<unknown>, into: number[]) => {
    const t = clock.now();
    await run();
    into.push(clock.now() - t);
  };
  await timed(base, samples.base);
  await timed(head, samples.head);
  const plan = abPlan(settings.metric, settings.budgetMs, Math.max(samples.base[0]!, samples.head[0]!));
  const looks = earlyLooks(settings.metric, plan.target);
  let stoppedEarly = false;
  while (Math.min(samples.base.length, samples.head.length) < plan.target) {
    for (let i = 0; i < RUNS_PER_TURN; i++) await timed(base, samples.base);
    for (let i = 0; i < RUNS_PER_TURN; i++) await timed(head, samples.head);
    if (clock.now() - start >= plan.budgetMs) break;
    const n = Math.min(samples.base.length, samples.head.length);
    if (looks.length > 0 && n >= looks[0]!) {
      looks.shift();
      const look = compareLatency(samples.base, samples.head, {
        ...gate(settings),
        confidence: lookConfidence(settings.confidence),
      });
      if (certainAtLook(look, settings.maxRegressionPct)) {
        stoppedEarly = true;
        break;
      }
    }
  }
  const stable = (s: number[]) => windowsAgree(s, STABILITY_WINDOW, settings.stabilityPct);
  const n = Math.min(samples.base.length, samples.head.length);
  const decision = compareLatency(samples.base, samples.head, {
    ...gate(settings),
    baseStable: stable(samples.base),
    headStable: stable(samples.head),
    ...(n < plan.target && !stoppedEarly ? { stoppedBy: budgetReason(plan.budgetMs) } : {}),
  });
  return { ...samples, decision, plan, ...(stoppedEarly ? { stoppedEarly } : {}) };
}

/**
 * Interleaved blocks, base, head, head, base, …: each `block(n)` call is one tool process running
 * n inferences. Blocks of target / BLOCKS_PER_SIDE inferences until each side holds the target or
 * the budget (sized from the first two blocks, launches included) runs out; judged by the block
 * bootstrap, so between-process variance widens the interval.
 */
export async function interleavedBlocks(
  base: (iterations: number) => Promise<number[]>,
  head: (iterations: number) => Promise<number[]>,
  settings: AbSettings,
  clock: Clock = systemClock,
): Promise<AbMeasurement> {
  const target = abPlan(settings.metric, settings.budgetMs, 0).target;
  const iterations = Math.ceil(target / BLOCKS_PER_SIDE);
  const blocks = { base: [] as number[][], head: [] as number[][] };
  const start = clock.now();
  const timed = async (run: (n: number) => Promise<number[]>, into: number[][]) => {
    const t = clock.now();
    into.push(await run(iterations));
    return clock.now() - t;
  };
  const first = Math.max(await timed(base, blocks.base), await timed(head, blocks.head));
  // A block's wall time over its inferences: launch and warm-up are part of what the budget pays.
  const plan = abPlan(settings.metric, settings.budgetMs, first / iterations);
  const count = (side: number[][]) => side.reduce((n, b) => n + b.length, 0);
  // The first pair was A B; continue B A, A B, … so each side goes first equally often (ABBA).
  let order: Array<'base' | 'head'> = ['head', 'base'];
  while (Math.min(count(blocks.base), count(blocks.head)) < plan.target) {
    if (clock.now() - start >= plan.budgetMs) break;
    for (const side of order) await timed(side === 'base' ? base : head, blocks[side]);
    order = [order[1]!, order[0]!];
  }
  const n = Math.min(count(blocks.base), count(blocks.head));
  const decision = compareLatencyBlocks(blocks.base, blocks.head, {
    ...gate(settings),
    ...(n < plan.target ? { stoppedBy: budgetReason(plan.budgetMs) } : {}),
  });
  return {
    base: blocks.base.flat(),
    head: blocks.head.flat(),
    decision,
    plan,
    blocks: { base: blocks.base.length, head: blocks.head.length },
  };
}
