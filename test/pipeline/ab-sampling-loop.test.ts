import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { interleavedRuns } from '../../src/pipeline/ab-sampling-loop.js';

const gate = { warmup: 2, budgetMs: 3000, stabilityPct: 5, maxRegressionPct: 10, confidence: 0.95 };

/** A fake clock and two "runs" that advance it by log-normal times around their medians (ms). */
function fakeRuns(baseMs: number, headMs: number, seed = 1) {
  const rng = new SeededRandom(seed);
  const clock = { t: 0, now: () => clock.t };
  const run = (ms: number) => async () => {
    clock.t += ms * Math.exp(0.05 * rng.normal());
  };
  return { clock, base: run(baseMs), head: run(headMs) };
}

describe('in-process A/B sampling', () => {
  it('samples to 1000 per side for a p99 gate and compares p99 itself', async () => {
    const { clock, base, head } = fakeRuns(1, 1.25);
    const m = await interleavedRuns(base, head, { ...gate, metric: 'p99' }, clock);
    expect(Math.min(m.base.length, m.head.length)).toBeGreaterThanOrEqual(1000);
    expect(m.decision.statistic).toBe('p99');
    expect(m.decision.verdict).toBe('regression');
    expect(m.decision.note).toBeUndefined();
  });

  it('where one run is too slow for the budget, gates a smaller statistic and says which and why', async () => {
    const { clock, base, head } = fakeRuns(50, 50);
    const m = await interleavedRuns(base, head, { ...gate, metric: 'p99' }, clock);
    expect(m.plan).toMatchObject({ budgetMs: 60000, reachable: false });
    expect(m.base.length).toBeLessThan(1000);
    expect(m.decision.statistic).toBe('p90');
    expect(m.decision.note).toMatch(
      /^p99 gated as p90 \(\d{3} samples per side within 60 s budget; p99 needs 1000\)$/,
    );
  });

  it('stops a p50 comparison early only when an early look is already certain', async () => {
    const same = fakeRuns(1, 1, 2);
    const early = await interleavedRuns(same.base, same.head, { ...gate, metric: 'p50' }, same.clock);
    expect(early.stoppedEarly).toBe(true);
    expect(early.base.length).toBeLessThan(200);
    expect(early.decision.verdict).toBe('unchanged');
    // A 6% shift sits near the 5% decision point: no look is certain, so it samples to the target.
    const near = fakeRuns(1, 1.06, 3);
    const full = await interleavedRuns(near.base, near.head, { ...gate, metric: 'p50' }, near.clock);
    expect(full.stoppedEarly).toBeUndefined();
    expect(Math.min(full.base.length, full.head.length)).toBeGreaterThanOrEqual(200);
  });
});
