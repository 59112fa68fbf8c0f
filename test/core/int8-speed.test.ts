import { describe, expect, it } from 'vitest';
import { compareInt8WithFp32, int8SpeedProblem, int8SpeedVerdict } from '../../src/core/int8-speed.js';
import type { EngineResult, LatencyStats } from '../../src/core/results.js';

function stats(p50: number): LatencyStats {
  return {
    ...{ n: 50, p50, p90: p50, p99: p50, mean: p50, stddev: 0, min: p50, max: p50 },
    ...{ stable: true, stabilityPct: 5, warmup: 5, threads: 1 },
    coldStart: { createMs: 1, firstRunMs: p50 },
  };
}

function engine(precision: 'fp32' | 'int8', p50: number, over: Partial<EngineResult> = {}): EngineResult {
  return {
    ...{ model: 'cls', profile: 'line', precision, target: 'cpu', backend: 'onnxruntime-cpu' },
    ...{ key: precision, cache: 'miss', enginePath: `${precision}/engine.ort` },
    golden: { pass: true, source: 'synthetic', samples: 4, outputs: [] },
    latency: { engine: stats(p50) },
    phases: { compileMs: 0, goldenMs: 0, benchMs: 0 },
    ...over,
  };
}

describe('compareInt8WithFp32', () => {
  it('sets fp32 p50 / int8 p50 on the int8 engine of the same model, profile and target', () => {
    const out = compareInt8WithFp32([engine('fp32', 1.1), engine('int8', 1.6)]);
    expect(out[0]).not.toHaveProperty('int8SpeedupVsFp32');
    expect(out[1]?.int8SpeedupVsFp32).toBeCloseTo(0.6875, 6);
    expect(out[1]?.int8SpeedupDetail).toBe('p50 int8 1.60 ms vs fp32 1.10 ms');
    expect(int8SpeedProblem(out[1]!)).toBe('int8 slower than fp32 (0.69×)');
    expect(int8SpeedVerdict(out, 'fail')).toBe('fail');
    expect(int8SpeedVerdict(out, 'warn')).toBe('warn');
  });

  it('passes a faster int8 engine and says when figures come from a cache hit', () => {
    const out = compareInt8WithFp32([engine('int8', 10, { cache: 'hit' }), engine('fp32', 16)]);
    expect(out[0]?.int8SpeedupVsFp32).toBeCloseTo(1.6, 6);
    expect(out[0]?.int8SpeedupDetail).toContain('stored figures of a cache hit');
    expect(int8SpeedProblem(out[0]!)).toBeUndefined();
    expect(int8SpeedVerdict(out, 'fail')).toBe('pass');
  });

  it('fails closed: no fp32 engine of the profile, another profile or target, or no p50', () => {
    const cases = [
      [engine('int8', 1)],
      [engine('int8', 1), engine('fp32', 2, { profile: 'page' })],
      [engine('int8', 1), engine('fp32', 2, { target: 'gpu' })],
      [engine('int8', Number.NaN), engine('fp32', 2)],
    ];
    for (const engines of cases) {
      const int8 = compareInt8WithFp32(engines).find((e) => e.precision === 'int8')!;
      expect(int8.int8SpeedupVsFp32).toBeNull();
      expect(int8SpeedProblem(int8)).toMatch(/^int8 speed vs fp32 unknown: /);
      expect(int8SpeedVerdict([int8], 'fail')).toBe('fail');
    }
  });
});
