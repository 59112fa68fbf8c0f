import { describe, expect, it } from 'vitest';
import type { EngineSession } from '../../src/backends/backend.js';
import type { HostTensor } from '../../src/core/tensor.js';
import {
  benchFor,
  measureLatency,
  MIN_SAMPLES_FLOOR,
  sampleFloor,
  STABILITY_WINDOW,
  type BenchSettings,
} from '../../src/pipeline/latency-bench.js';
import type { Clock } from '../../src/pipeline/clock.js';

/** A clock that only moves when the fake session says so. */
class FakeClock implements Clock {
  t = 1000;
  now(): number {
    return this.t;
  }
}

interface Script {
  /** Clock advance while the session is created. */
  createMs?: number;
  /** Duration of the first run after creation. */
  firstRunMs?: number;
  /** Duration of each warmup run. */
  warmupMs?: number;
  /** Duration of timed run `i` (0-based, after warmup). */
  sample: (i: number) => number;
  /** Throw on this call of the bound closure (0 = first run). */
  throwOnCall?: number;
}

/** A fake engine whose bound run advances the fake clock by the scripted durations. */
function fakeEngine(script: Script, warmup: number) {
  const clock = new FakeClock();
  const state = { calls: 0, released: 0, bound: [] as Array<Record<string, HostTensor>> };
  const session: EngineSession = {
    inputNames: ['x'],
    outputNames: ['y'],
    run: async () => {
      throw new Error('the benchmark must time the bound closure, not run()');
    },
    bind: (inputs) => {
      state.bound.push(inputs);
      return async () => {
        const call = state.calls++;
        if (call === script.throwOnCall) throw new Error('engine crashed');
        if (call === 0) clock.t += script.firstRunMs ?? 40;
        else if (call <= warmup) clock.t += script.warmupMs ?? 5000;
        else clock.t += script.sample(call - 1 - warmup);
        return undefined;
      };
    },
    release: async () => {
      state.released++;
    },
  };
  const open = async () => {
    clock.t += script.createMs ?? 250;
    return session;
  };
  return { clock, state, open };
}

const inputs: Record<string, HostTensor> = {
  x: { dtype: 'float32', shape: [1], data: new Float32Array([1]) },
};

const settings = (over: Partial<BenchSettings> = {}): BenchSettings => ({
  warmup: 3,
  minSamples: 20,
  maxSamples: 500,
  budgetMs: 1e9,
  stabilityPct: 5,
  threads: 1,
  ...over,
});

async function bench(script: Script, over: Partial<BenchSettings> = {}) {
  const s = settings(over);
  const fake = fakeEngine(script, s.warmup);
  const stats = await measureLatency(fake.open, inputs, s, fake.clock);
  return { stats, ...fake };
}

/** Ten samples at `a` ms, ten at `b`, ten at `a`, ...: windows whose medians never agree. */
const blocks = (a: number, b: number) => (i: number) => (Math.floor(i / STABILITY_WINDOW) % 2 === 0 ? a : b);

describe('measureLatency stopping rules', () => {
  it('stops as soon as three windows agree, after minSamples', async () => {
    const { stats, state } = await bench({ sample: () => 10 });
    expect(stats.n).toBe(30);
    expect(stats.stable).toBe(true);
    expect(state.calls).toBe(1 + 3 + 30);
  });

  it('checks stability only at whole windows at or past minSamples', async () => {
    const { stats } = await bench({ sample: () => 10 }, { minSamples: 45 });
    expect(stats.n).toBe(50);
    expect(stats.n % STABILITY_WINDOW).toBe(0);
    expect(stats.stable).toBe(true);
  });

  it('keeps going while windows disagree, and stabilizes once they do', async () => {
    // Three noisy windows (10, 30, 10) and then steady 20 ms: windows 4-6 agree at n = 60.
    const { stats } = await bench({ sample: (i) => (i < 30 ? blocks(10, 30)(i) : 20) });
    expect(stats.n).toBe(60);
    expect(stats.stable).toBe(true);
  });

  it('agrees within stabilityPct of the smallest window median', async () => {
    // Window medians 100, 104, 100: 4% apart, within 5% but not within 3%.
    const script = { sample: (i: number) => (Math.floor(i / 10) % 3 === 1 ? 104 : 100) };
    expect((await bench(script, { stabilityPct: 5 })).stats.n).toBe(30);
    const strict = await bench(script, { stabilityPct: 3, maxSamples: 60 });
    expect(strict.stats.n).toBe(60);
    expect(strict.stats.stable).toBe(false);
  });

  it('stops at maxSamples and reports noisy runs as unstable', async () => {
    const { stats } = await bench({ sample: blocks(10, 30) }, { maxSamples: 57 });
    expect(stats.n).toBe(57);
    expect(stats.stable).toBe(false);
    expect(stats.min).toBe(10);
    expect(stats.max).toBe(30);
  });

  it('stops at the time budget once minSamples are in', async () => {
    // 10 ms samples for the first window, then 30 ms: 100 ms after 10 samples, 250 ms after 15.
    const { stats } = await bench({ sample: blocks(10, 30) }, { budgetMs: 250, minSamples: 5 });
    expect(stats.n).toBe(15);
    expect(stats.stable).toBe(false);
  });

  it('a heavy model takes only the floor of samples, not minSamples, when one run eats the budget', async () => {
    // 1 s a run against the default 3 s budget: 20 samples would be 20 s per session.
    const { stats } = await bench({ sample: () => 1000 }, { budgetMs: 3000, minSamples: 20 });
    expect(stats.n).toBe(MIN_SAMPLES_FLOOR);
  });

  it("takes as many samples as the budget affords at one run's time, when that is under minSamples", async () => {
    const { stats } = await bench({ sample: () => 100 }, { budgetMs: 800, minSamples: 20 });
    expect(stats.n).toBe(8);
  });

  it('takes the floor even when the budget is already spent, and a smaller minSamples as given', async () => {
    expect((await bench({ sample: blocks(10, 30) }, { budgetMs: 1, minSamples: 12 })).stats.n).toBe(5);
    expect((await bench({ sample: blocks(10, 30) }, { budgetMs: 1, minSamples: 3 })).stats.n).toBe(3);
  });

  it('sampleFloor: minSamples where the budget affords it, else what fits, never under the floor', () => {
    const s = settings({ budgetMs: 3000, minSamples: 20 });
    expect([1, 150, 300, 1000, 60_000].map((ms) => sampleFloor(s, ms))).toEqual([20, 20, 10, 5, 5]);
  });

  it('the budget excludes session creation, the first run and warmup', async () => {
    const { stats } = await bench(
      { sample: blocks(10, 30), createMs: 10_000, firstRunMs: 10_000, warmupMs: 10_000 },
      { budgetMs: 250, minSamples: 5 },
    );
    expect(stats.n).toBe(15);
  });
});

describe('measureLatency statistics', () => {
  it('warmup runs are excluded from the samples', async () => {
    const { stats, state } = await bench({ sample: () => 10, warmupMs: 999 }, { warmup: 7 });
    expect(stats.max).toBe(10);
    expect(stats.warmup).toBe(7);
    expect(state.calls).toBe(1 + 7 + stats.n);
  });

  it('cold start comes from open() and the first run, apart from steady state', async () => {
    const { stats } = await bench({ sample: () => 10, createMs: 123, firstRunMs: 47 });
    expect(stats.coldStart).toEqual({ createMs: 123, firstRunMs: 47 });
    expect(stats.max).toBe(10);
  });

  it('p50, p99, mean, min and max are those of the scripted durations', async () => {
    // 1..20 ms: numpy.percentile(range(1, 21), [50, 90, 99]) -> [10.5, 18.1, 19.81]
    const { stats } = await bench({ sample: (i) => i + 1 }, { minSamples: 20, maxSamples: 20 });
    expect(stats.n).toBe(20);
    expect(stats.p50).toBe(10.5);
    expect(stats.p90).toBeCloseTo(18.1, 10);
    expect(stats.p99).toBeCloseTo(19.81, 10);
    expect(stats.mean).toBe(10.5);
    expect(stats.min).toBe(1);
    expect(stats.max).toBe(20);
    expect(stats.stddev).toBeCloseTo(Math.sqrt(35), 10);
  });

  it('reports the settings it ran with', async () => {
    const { stats } = await bench({ sample: () => 10 }, { stabilityPct: 2.5, threads: 4, warmup: 0 });
    expect(stats).toMatchObject({ stabilityPct: 2.5, threads: 4, warmup: 0 });
  });

  it('binds the inputs once and never calls run() inside the timed loop', async () => {
    const { state } = await bench({ sample: () => 10 });
    expect(state.bound).toEqual([inputs]);
  });
});

describe('measureLatency releases the session', () => {
  it('on success, exactly once', async () => {
    const { state } = await bench({ sample: () => 10 });
    expect(state.released).toBe(1);
  });

  it('when the first run throws', async () => {
    const s = settings();
    const fake = fakeEngine({ sample: () => 10, throwOnCall: 0 }, s.warmup);
    await expect(measureLatency(fake.open, inputs, s, fake.clock)).rejects.toThrow('engine crashed');
    expect(fake.state.released).toBe(1);
  });

  it('when a timed run throws', async () => {
    const s = settings();
    const fake = fakeEngine({ sample: () => 10, throwOnCall: 1 + s.warmup + 4 }, s.warmup);
    await expect(measureLatency(fake.open, inputs, s, fake.clock)).rejects.toThrow('engine crashed');
    expect(fake.state.released).toBe(1);
  });

  it('a failing open() propagates its error', async () => {
    const clock = new FakeClock();
    await expect(
      measureLatency(() => Promise.reject(new Error('cannot load engine')), inputs, settings(), clock),
    ).rejects.toThrow('cannot load engine');
  });
});

describe('benchFor', () => {
  const global = { warmup: 5, minSamples: 20, maxSamples: 500, budgetMs: 3000, stabilityPct: 5, threads: 2 };
  it("merges a model's own bench keys over the global ones, keeping the rest", () => {
    expect(benchFor(global, { bench: { budgetMs: 20_000, warmup: 1 } })).toEqual({
      ...global,
      budgetMs: 20_000,
      warmup: 1,
    });
    expect(benchFor(global, {})).toEqual(global);
  });
});
