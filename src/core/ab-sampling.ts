/**
 * How long an A/B latency comparison samples (pure; the loop is src/pipeline/ab-bench.ts).
 *
 * The target comes from the gated statistic: a percentile is estimable with TAIL_SAMPLES samples
 * beyond it per side, so p99 needs 1,000. p50 takes 200: the distribution-free 95% interval of a
 * median spans the order statistics n/2 ± 0.98·√n, i.e. p43–p57 at n = 200, which on a runner with
 * 5–10% log-normal jitter is about ±1–2% of the median: narrow enough to separate a 5% shift.
 *
 * The time budget is derived from one run's measured duration: what the target needs for both
 * sides plus a quarter for the loop, at least 2 × `bench.budgetMs` and at most AB_BUDGET_FACTOR × `bench.budgetMs`. Where the cap
 * cannot reach the target, sampling stops at the cap and the comparison says which statistic it
 * gated instead and why (compareLatency's `stoppedBy`), never silently.
 *
 * Early stop: before the target, at "looks" after 50, 100, 200, … samples per side where the gated
 * statistic is already estimable, the comparison is re-run at a stricter confidence (each look
 * spends EARLY_LOOK_ALPHA_SHARE of 1 − confidence, Bonferroni) and sampling stops only when that
 * stricter interval keeps clear of the decision point 1 + T/2 in the verdict's direction. So the
 * looks add at most looks × 10% to the gate's error rate; p99 (target = first estimable n) has none.
 */
import { samplesToEstimate, type LatencyDecision } from './latency-regression.js';

/** The A/B budget is at most this many times `bench.budgetMs` (60 s at the default 3 s). */
export const AB_BUDGET_FACTOR = 20;
/** Share of the gate's error rate (1 − confidence) each early look may spend. */
export const EARLY_LOOK_ALPHA_SHARE = 0.1;
/** Samples per side at p50: see the module comment. */
const P50_TARGET = 200;

export interface AbPlan {
  /** Samples per side to take (also the most taken). */
  target: number;
  /** Wall-clock budget for both sides together, ms. */
  budgetMs: number;
  /** Whether the budget is expected to reach the target at the measured run time. */
  reachable: boolean;
}

/** Samples per side the gated metric needs (p99: 1000, p50: 200). */
export function abSampleTarget(metric: 'p50' | 'p99'): number {
  return metric === 'p99' ? samplesToEstimate('p99') : P50_TARGET;
}

/** The plan for one engine pair, from one run's measured duration (ms, the slower side's). */
export function abPlan(metric: 'p50' | 'p99', benchBudgetMs: number, oneRunMs: number): AbPlan {
  const target = abSampleTarget(metric);
  const cap = AB_BUDGET_FACTOR * benchBudgetMs;
  const needed = Math.ceil(2 * target * Math.max(0, oneRunMs) * 1.25);
  // Never under the old per-pair budget: one lucky fast first run must not starve the rest.
  return { target, budgetMs: Math.min(cap, Math.max(2 * benchBudgetMs, needed)), reachable: needed <= cap };
}

/** `within 60 s budget`: the reason compareLatency's note gives for a smaller statistic. */
export function budgetReason(budgetMs: number): string {
  const s = budgetMs / 1000;
  return `within ${s >= 10 ? Math.round(s) : Number(s.toFixed(1))} s budget`;
}

/** Samples per side at which an early look happens, before `target`, once `metric` is estimable. */
export function earlyLooks(metric: 'p50' | 'p99', target: number): number[] {
  const looks: number[] = [];
  for (let n = 50; n < target; n *= 2) if (n >= samplesToEstimate(metric)) looks.push(n);
  return looks;
}

/** The stricter confidence of one early look. */
export function lookConfidence(confidence: number): number {
  return 1 - (1 - confidence) * EARLY_LOOK_ALPHA_SHARE;
}

/**
 * Whether a look's decision (made at lookConfidence) is already certain: its interval clears the
 * decision point 1 + T/2 (or its mirror) on the verdict's side. `unstable` never stops early.
 */
export function certainAtLook(decision: LatencyDecision, maxRegressionPct: number): boolean {
  const slower = 1 + maxRegressionPct / 200;
  const [lo, hi] = decision.ci;
  switch (decision.verdict) {
    case 'regression':
      return lo > slower;
    case 'improvement':
      return hi < 1 / slower;
    case 'unchanged':
      return lo > 1 / slower && hi < slower;
    default:
      return false;
  }
}
