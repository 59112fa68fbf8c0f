import { describe, expect, it } from 'vitest';
import {
  abPlan,
  abSampleTarget,
  budgetReason,
  certainAtLook,
  earlyLooks,
  lookConfidence,
} from '../../src/core/ab-sampling.js';
import { samplesToEstimate } from '../../src/core/latency-regression.js';

describe('A/B sampling plan', () => {
  it('targets what the gated percentile needs: p99 1000 per side, p50 200', () => {
    expect(abSampleTarget('p99')).toBe(1000);
    expect(samplesToEstimate('p99')).toBe(1000);
    expect(samplesToEstimate('p90')).toBe(100);
    expect(abSampleTarget('p50')).toBe(200);
  });

  it('sizes the budget from one run: what the target needs, at least 2x and at most 20x bench.budgetMs', () => {
    // 1 ms a run: 2 × 1000 × 1 ms × 1.25 = 2.5 s, under the 6 s floor.
    expect(abPlan('p99', 3000, 1)).toEqual({ target: 1000, budgetMs: 6000, reachable: true });
    // 20 ms a run: 50 s, within the 60 s cap.
    expect(abPlan('p99', 3000, 20)).toEqual({ target: 1000, budgetMs: 50000, reachable: true });
    // 40 ms a run (PP-OCR det on 1 core): 100 s needed, 60 s allowed.
    expect(abPlan('p99', 3000, 40)).toEqual({ target: 1000, budgetMs: 60000, reachable: false });
    expect(budgetReason(60000)).toBe('within 60 s budget');
    expect(budgetReason(6000)).toBe('within 6 s budget');
    expect(budgetReason(2500)).toBe('within 2.5 s budget');
  });

  it('looks early only where the metric is already estimable, at a stricter confidence', () => {
    expect(earlyLooks('p99', 1000)).toEqual([]);
    expect(earlyLooks('p50', 200)).toEqual([50, 100]);
    expect(lookConfidence(0.95)).toBeCloseTo(0.995, 12);
  });

  it('stops early only when the interval clears the decision point on the verdict side', () => {
    const d = (verdict: 'regression' | 'improvement' | 'unchanged' | 'unstable', ci: [number, number]) => ({
      ratio: (ci[0] + ci[1]) / 2,
      ci,
      verdict,
      statistic: 'p50' as const,
    });
    expect(certainAtLook(d('regression', [1.06, 1.2]), 10)).toBe(true);
    expect(certainAtLook(d('regression', [1.01, 1.2]), 10)).toBe(false);
    expect(certainAtLook(d('unchanged', [0.97, 1.03]), 10)).toBe(true);
    expect(certainAtLook(d('unchanged', [0.97, 1.051]), 10)).toBe(false);
    expect(certainAtLook(d('improvement', [0.8, 0.9]), 10)).toBe(true);
    expect(certainAtLook(d('unstable', [0.99, 1.01]), 10)).toBe(false);
  });
});
