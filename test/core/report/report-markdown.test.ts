import { describe, expect, it } from 'vitest';

import {
  formatDiff,
  formatMs,
  formatSpeedup,
  renderBuildReport,
  renderEngineSummaryLine,
  speedupBasis,
  worstOutput,
} from '../../../src/core/report/report-markdown.js';
import type {
  BuildResults,
  EngineResult,
  GoldenResult,
  LatencyStats,
  TensorComparison,
} from '../../../src/core/results.js';

function comparison(over: Partial<TensorComparison> = {}): TensorComparison {
  return {
    output: 'logits',
    dtype: 'float32',
    shape: [1, 1000],
    total: 1000,
    maxAbsDiff: 2.1e-7,
    maxRelDiff: 1e-6,
    mismatches: 0,
    cosine: 1,
    worstIndex: [0, 17],
    worstRef: 0.5,
    worstGot: 0.5000002,
    nanRef: 0,
    nanGot: 0,
    infRef: 0,
    infGot: 0,
    atol: 1e-5,
    rtol: 1e-3,
    pass: true,
    ...over,
  };
}

function latency(p50: number, over: Partial<LatencyStats> = {}): LatencyStats {
  return {
    n: 200,
    p50,
    p90: p50 * 1.1,
    p99: p50 * 1.3,
    mean: p50 * 1.02,
    stddev: p50 * 0.05,
    min: p50 * 0.9,
    max: p50 * 1.6,
    stable: true,
    stabilityPct: 5,
    warmup: 20,
    threads: 1,
    coldStart: { createMs: 120, firstRunMs: p50 * 4 },
    ...over,
  };
}

interface EngineOptions extends Partial<Omit<EngineResult, 'golden' | 'latency'>> {
  golden?: Partial<GoldenResult>;
  p50?: number;
  /** Reference p50; null for no reference session. */
  refP50?: number | null;
  stable?: boolean;
  refStable?: boolean;
}

function engine(options: EngineOptions = {}): EngineResult {
  const { golden, p50 = 4.2, refP50 = 6.43, stable = true, refStable = true, ...over } = options;
  const outputs = golden?.outputs ?? [comparison()];
  return {
    model: 'ocr-det',
    profile: 'dynamic',
    precision: 'fp32',
    target: 'cpu-avx512',
    backend: 'onnxruntime-cpu',
    key: 'sha256-0f3a',
    cache: 'miss',
    enginePath: 'engines/ocr-det/0f3a.onnx',
    golden: { pass: outputs.every((c) => c.pass), source: 'synthetic', samples: 8, outputs, ...golden },
    latency: {
      engine: latency(p50, { stable }),
      ...(refP50 === null ? {} : { reference: latency(refP50, { stable: refStable }) }),
    },
    ...(refP50 === null ? {} : { speedup: refP50 / p50 }),
    phases: { compileMs: 5400, goldenMs: 800, benchMs: 3000 },
    ...over,
  };
}

function results(engines: EngineResult[], over: Partial<BuildResults> = {}): BuildResults {
  const target = engines[0]?.target ?? 'cpu-avx512';
  return {
    schema: 'kiln.build-results/v1',
    kilnVersion: '0.1.0',
    target,
    backend: engines[0]?.backend ?? 'onnxruntime-cpu',
    hardware: { cpu: 'EPYC' },
    startedAt: '2025-01-01T00:00:00Z',
    finishedAt: '2025-01-01T00:05:00Z',
    engines,
    gates: { golden: engines.every((e) => e.golden.pass) ? 'pass' : 'fail' },
    ...over,
  };
}

const gpu = { target: 'gpu-a100', backend: 'tensorrt' } as const;

describe('speedup vs reference says what each side timed', () => {
  const trt = 'TensorRT GPU compute time (trtexec --exportTimes computeMs, no host-device copies)';
  const cpu = 'ONNX Runtime CPU wall time per session.run';
  const labelled = (engineMeasures: string): EngineResult => {
    const e = engine({ ...gpu, p50: 1.1, refP50: 6.43 });
    return {
      ...e,
      latency: {
        engine: { ...e.latency.engine, measures: engineMeasures },
        reference: { ...e.latency.reference!, measures: cpu },
      },
    };
  };

  it('names both sides when they differ, and once when they agree', () => {
    expect(speedupBasis(labelled(trt))).toBe(`${trt} vs ${cpu}`);
    expect(speedupBasis(labelled(cpu))).toBe(`both ${cpu}`);
    expect(speedupBasis(engine())).toBeUndefined();
    expect(renderEngineSummaryLine(labelled(trt))).toContain(`5.85x vs reference (${trt} vs ${cpu})`);
  });

  it('puts the basis under the model table', () => {
    const report = renderBuildReport([results([labelled(trt)])]);
    expect(report).toContain(
      'Speedup vs ref measures TensorRT GPU compute time (trtexec --exportTimes computeMs, no host-device copies) vs ONNX Runtime CPU wall time per session.run.',
    );
    expect(renderBuildReport([results([engine()])])).not.toContain('Speedup vs ref measures');
  });
});

function multiTarget(): BuildResults[] {
  return [
    results([
      engine({ profile: 'static-640' }),
      engine({ precision: 'int8', p50: 1.9 }),
      engine({ model: 'classifier', profile: 'batch-1', p50: 0.734, refP50: null }),
    ]),
    results([
      engine({ ...gpu, precision: 'fp16', p50: 0.412, refP50: 3.1 }),
      engine({ ...gpu, p50: 0.81, refP50: 3.1 }),
      engine({ ...gpu, model: 'classifier', profile: 'batch-1', p50: 0.0955, refP50: 1.4 }),
    ]),
  ];
}

const nanFailure = engine({
  ...gpu,
  profile: 'static-640',
  precision: 'fp16',
  golden: {
    outputs: [
      comparison({ output: 'scores', maxAbsDiff: 3.2e-4 }),
      comparison({ output: 'boxes', maxAbsDiff: NaN, nanGot: 12, mismatches: 12, pass: false }),
    ],
    failure: 'boxes: 12 NaN in engine output (sample 3, index [0, 41, 2])',
  },
});

const HOSTILE = 'x|y <img src=x onerror=alert(1)> @octocat [click](http://evil)';

function hostileResults(): BuildResults[] {
  return [
    results([
      engine({
        model: HOSTILE,
        profile: '<!-- hide --> #1 ![i](https://evil/p.png)',
        target: 'gpu\n| injected | row | | | | | | |',
        golden: {
          outputs: [comparison({ output: 'out|`put`<b>', maxAbsDiff: 0.5, pass: false })],
          failure: 'mismatch @admin see www.evil.com <script>alert(1)</script> **bold** [x]: y',
        },
      }),
      engine({ model: '@octocat/team', profile: '1. list' }),
    ]),
  ];
}

describe('renderBuildReport', () => {
  it('renders an all-passing multi-target report', async () => {
    const text = renderBuildReport(multiTarget());
    expect(text).toContain('**kiln: all 6 engines passed the golden gate**');
    await expect(text).toMatchFileSnapshot('__snapshots__/report-all-pass.md');
  });

  it('puts a NaN golden failure first, with its failure line under the table', async () => {
    const text = renderBuildReport([...multiTarget(), results([nanFailure])]);
    expect(text).toContain('**kiln: 1 of 7 engines failed the golden gate**');
    expect(text).toContain('❌ fail: max Δ NaN, 12 NaN in `boxes`');
    expect(text).toContain('- ❌ gpu-a100 · static-640 · fp16: boxes: 12 NaN in engine output');
    const rows = text
      .slice(text.indexOf('### ocr-det'))
      .split('\n')
      .filter((line) => /^\| (?!target |---)/.test(line));
    expect(rows[0]).toContain('| gpu-a100 | static-640 | fp16 | ❌ fail');
    expect(rows.slice(1).join('\n')).not.toContain('❌');
    await expect(text).toMatchFileSnapshot('__snapshots__/report-golden-nan.md');
  });

  it('shows cache hits', async () => {
    const text = renderBuildReport([
      results([engine({ cache: 'hit' }), engine({ cache: 'hit', precision: 'fp16', p50: 2.61 })]),
    ]);
    expect(text).toMatch(/\| hit \|\n/);
    await expect(text).toMatchFileSnapshot('__snapshots__/report-cache-hit.md');
  });

  it('marks unstable engine and reference latency', async () => {
    const text = renderBuildReport([
      results([engine({ stable: false, p50: 12.345 }), engine({ precision: 'fp16', refStable: false })]),
    ]);
    expect(text).toContain('12.3 ⚠️ unstable');
    expect(text).toContain('⚠️ ref unstable');
    await expect(text).toMatchFileSnapshot('__snapshots__/report-unstable.md');
  });

  it('neutralizes hostile names, paths and error text', async () => {
    const text = renderBuildReport(hostileResults());
    expect(text).not.toContain('<img');
    expect(text).not.toContain('<script');
    expect(text).not.toContain('<!--');
    expect(text).not.toMatch(/@octocat|@admin/);
    expect(text).not.toContain('](');
    expect(text).not.toContain('://');
    expect(text).not.toMatch(/(?<!&)#\d/);
    expect(text).not.toMatch(/^\s*(?:[-+]|\d+\.) (?!❌)/m);
    // Every table row keeps its 8 cells: no pipe is left that cmark-gfm would split on.
    for (const row of text.split('\n').filter((line) => line.startsWith('|'))) {
      expect(row.replace(/\\[!-/:-@[-`{-~]/g, '').split('|')).toHaveLength(11);
    }
    await expect(text).toMatchFileSnapshot('__snapshots__/report-hostile.md');
  });

  it('does not depend on the order of files or engines', () => {
    const files = [...multiTarget(), results([nanFailure])];
    const shuffled = [...files].reverse().map((r) => ({ ...r, engines: [...r.engines].reverse() }));
    expect(renderBuildReport(shuffled)).toBe(renderBuildReport(files));
  });

  it('words the verdict for no engines, one engine and warn-mode gates', () => {
    expect(renderBuildReport([])).toContain('**kiln: no engines in these results**');
    expect(renderBuildReport([results([engine()])])).toContain(
      '**kiln: the only engine passed the golden gate**',
    );
    const warned = renderBuildReport([results([nanFailure], { gates: { golden: 'warn' } })]);
    expect(warned).toContain('**kiln: 1 of 1 engine failed the golden gate** (warn mode: not blocking)');
  });

  it('describes a failure from the worst output when the result has no failure line', () => {
    const text = renderBuildReport([
      results([engine({ golden: { outputs: [comparison({ maxAbsDiff: 0.034, pass: false })] } })]),
    ]);
    expect(text).toContain('- ❌ cpu-avx512 · dynamic · fp32: max abs diff 3.4e-2 on logits');
  });
});

describe('renderEngineSummaryLine', () => {
  it('summarizes a passing engine on one plain line', () => {
    expect(renderEngineSummaryLine(engine({ cache: 'hit' }))).toBe(
      'PASS ocr-det cpu-avx512/dynamic/fp32: golden pass, max abs diff 2.1e-7 on logits; ' +
        'p50 4.20 ms, p99 5.46 ms (n=200); 1.53x vs reference; cache hit',
    );
  });

  it('summarizes a failing, unstable engine without a reference', () => {
    expect(renderEngineSummaryLine({ ...nanFailure, speedup: undefined })).toBe(
      'FAIL ocr-det gpu-a100/static-640/fp16: golden fail, max abs diff NaN, 12 NaN on boxes; ' +
        'p50 4.20 ms, p99 5.46 ms (n=200); no reference; cache miss',
    );
    expect(renderEngineSummaryLine(engine({ stable: false, refStable: false }))).toMatch(
      /; latency unstable; reference latency unstable$/,
    );
  });

  it('shows control characters instead of sending them to the terminal', () => {
    const line = renderEngineSummaryLine(engine({ model: 'evil\u001b[2J\nmodel\u202e' }));
    expect(line).toMatch(/^PASS evil\ufffd\[2J\ufffdmodel\ufffd cpu-avx512/);
    expect(line).not.toMatch(/\p{Cc}/u);
  });
});

describe('number formatting', () => {
  it.each([
    [0.01234, '0.0123'],
    [1.234, '1.23'],
    [12.345, '12.3'],
    [99.96, '100'],
    [1234.5, '1235'],
    [NaN, '—'],
  ])('formatMs(%s) = %s', (ms, text) => expect(formatMs(ms)).toBe(text));

  it.each([
    [0, '0'],
    [2.1e-7, '2.1e-7'],
    [0.034, '3.4e-2'],
    [0.34, '0.34'],
    [12.3, '12'],
    [250000, '2.5e5'],
    [NaN, 'NaN'],
    [Infinity, 'Inf'],
  ])('formatDiff(%s) = %s', (value, text) => expect(formatDiff(value)).toBe(text));

  it.each([
    [1.5312, '1.53×'],
    [0.82, '0.82×'],
    [12.34, '12.3×'],
    [150.2, '150×'],
    [undefined, '—'],
    [Infinity, '—'],
  ])('formatSpeedup(%s) = %s', (value, text) => expect(formatSpeedup(value)).toBe(text));
});

describe('worstOutput', () => {
  it('prefers failing outputs, then non-finite values, then the largest diff', () => {
    const big = comparison({ output: 'big', maxAbsDiff: 1 });
    const failing = comparison({ output: 'failing', maxAbsDiff: 1e-3, pass: false });
    const inf = comparison({ output: 'inf', maxAbsDiff: 1e-9, infGot: 1, pass: false });
    expect(worstOutput({ pass: true, source: 'npy', samples: 1, outputs: [failing, big] })?.output).toBe(
      'big',
    );
    expect(worstOutput({ pass: false, source: 'npy', samples: 1, outputs: [big, failing] })?.output).toBe(
      'failing',
    );
    expect(worstOutput({ pass: false, source: 'npy', samples: 1, outputs: [failing, inf] })?.output).toBe(
      'inf',
    );
    expect(worstOutput({ pass: true, source: 'npy', samples: 1, outputs: [] })).toBeUndefined();
  });
});
