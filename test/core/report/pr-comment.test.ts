import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { mermaidLabel } from '../../../src/core/report/mermaid-chart.js';
import {
  GITHUB_COMMENT_LIMIT,
  renderJobSummary,
  renderPrComment,
} from '../../../src/core/report/pr-comment.js';
import type { PrCommentInput } from '../../../src/core/report/pr-comment.js';
import type {
  AbResults,
  BuildResults,
  EngineResult,
  LatencyComparison,
  LatencyStats,
  TensorComparison,
} from '../../../src/core/results.js';
import { fitMarkdown } from '../../../src/core/report/truncate-markdown.js';

const MARKER = '<!-- kiln:report -->';

function comparison(over: Partial<TensorComparison> = {}): TensorComparison {
  return {
    ...{ output: 'logits', dtype: 'float32', shape: [1, 1000], total: 1000 },
    ...{ maxAbsDiff: 2.1e-7, maxRelDiff: 1e-6, mismatches: 0, cosine: 1, worstIndex: [0, 17] },
    ...{ worstRef: 0.5, worstGot: 0.5000002, nanRef: 0, nanGot: 0, infRef: 0, infGot: 0 },
    ...{ atol: 1e-5, rtol: 1e-3, pass: true },
    ...over,
  };
}

function stats(p50: number): LatencyStats {
  return {
    ...{ n: 200, p50, p90: p50 * 1.1, p99: p50 * 1.3, mean: p50, stddev: p50 * 0.05 },
    ...{ min: p50 * 0.9, max: p50 * 1.6, stable: true, stabilityPct: 5, warmup: 20, threads: 1 },
    coldStart: { createMs: 120, firstRunMs: p50 * 4 },
  };
}

interface EngineOptions extends Partial<Omit<EngineResult, 'golden'>> {
  outputs?: TensorComparison[];
  failure?: string;
  p50?: number;
}

function engine(options: EngineOptions = {}): EngineResult {
  const { outputs = [comparison()], failure, p50 = 4.2, ...over } = options;
  const pass = outputs.every((c) => c.pass);
  return {
    ...{ model: 'ocr-det', profile: 's384', precision: 'fp32', target: 'cpu', backend: 'onnxruntime-cpu' },
    ...{ key: 'sha256-0f3a', cache: 'miss', enginePath: 'ocr-det/0f3a/engine.onnx' },
    golden: { pass, source: 'synthetic', samples: 4, outputs, ...(failure === undefined ? {} : { failure }) },
    latency: { engine: stats(p50), reference: stats(p50 * 1.5) },
    speedup: 1.5,
    phases: { compileMs: 5400, goldenMs: 800, benchMs: 3000 },
    ...over,
  };
}

function build(target: string, engines: EngineResult[]): BuildResults {
  return {
    ...{ schema: 'kiln.build-results/v1', kilnVersion: '0.1.0', target, backend: 'tensorrt' },
    ...{ hardware: {}, startedAt: '2025-01-01T00:00:00Z', finishedAt: '2025-01-01T00:05:00Z' },
    engines: engines.map((e) => ({ ...e, target })),
    gates: { golden: engines.every((e) => e.golden.pass) ? 'pass' : 'fail' },
  };
}

interface AbOptions extends Partial<LatencyComparison> {
  /** base p99 / head p99 in ms; base null for a new variant. */
  p99?: [number | null, number];
}

function ab(target: string, options: AbOptions[]): AbResults {
  const comparisons = options.map(({ p99 = [5.46, 5.46], ...over }): LatencyComparison => {
    const [base, head] = p99;
    const ratio = base === null ? undefined : head / base;
    return {
      ...{ model: 'ocr-det', profile: 's384', precision: 'fp32', target, metric: 'p99' },
      ...(base === null ? {} : { base: { p50: base / 1.3, p99: base, n: 200 } }),
      head: { p50: head / 1.3, p99: head, n: 200 },
      ...(ratio === undefined ? {} : { ratio, ci: [ratio - 0.012, ratio + 0.011] as [number, number] }),
      ...{ confidence: 0.95, maxRegressionPct: 10, verdict: base === null ? 'new' : 'unchanged' },
      ...over,
      target,
    };
  });
  return { schema: 'kiln.ab-results/v1', target, baseRef: 'main', comparisons };
}

const TARGETS = ['cpu', 'a10g', 'l4'];

function input(over: Partial<PrCommentInput> = {}): PrCommentInput {
  return {
    marker: MARKER,
    builds: [],
    ab: [],
    expectedTargets: TARGETS,
    gates: {
      golden: 'fail',
      latency: { metric: 'p99', maxRegressionPct: 10, confidence: 0.95 },
      int8SlowerThanFp32: 'warn',
    },
    context: {
      headSha: '0123456789abcdef0123456789abcdef01234567',
      baseRef: 'fedcba9876543210fedcba9876543210fedcba98',
      runUrl: 'https://github.com/o/r/actions/runs/1',
      summaryUrl: 'https://github.com/o/r/actions/runs/1#summary-2',
    },
    ...over,
  };
}

/** Two models × two profiles on each of cpu, a10g and l4, all passing, all compared with the base. */
function allPass(): Pick<PrCommentInput, 'builds' | 'ab'> {
  const variants = [
    { model: 'ocr-det', profile: 's384' },
    { model: 'ocr-det', profile: 's640' },
    { model: 'classifier', profile: 'b1' },
  ];
  const scale: Record<string, number> = { cpu: 1, a10g: 0.1, l4: 0.14 };
  return {
    builds: TARGETS.map((t) =>
      build(
        t,
        variants.map((v) => engine({ ...v, p50: 4.2 * (scale[t] ?? 1) })),
      ),
    ),
    ab: TARGETS.map((t) =>
      ab(
        t,
        variants.map((v) => ({ ...v, p99: [5.5 * (scale[t] ?? 1), 5.46 * (scale[t] ?? 1)] })),
      ),
    ),
  };
}

/** Count of `|` that break GFM table cells: those after an even run of backslashes. */
function cellBreaks(line: string): number {
  let breaks = 0;
  let backslashes = 0;
  for (const ch of line) {
    if (ch === '|' && backslashes % 2 === 0) breaks++;
    backslashes = ch === '\\' ? backslashes + 1 : 0;
  }
  return breaks;
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** Shared structural checks: marker once and first, rows complete, fences and tags balanced. */
function expectWellFormed(body: string): void {
  expect(body.startsWith(`${MARKER}\n`)).toBe(true);
  expect(count(body, MARKER)).toBe(1);
  for (const line of body.split('\n').filter((l) => l.startsWith('|'))) {
    expect(cellBreaks(line), line).toBe(10);
    expect(line.endsWith(' |')).toBe(true);
  }
  expect(body.split('\n').filter((l) => l.startsWith('```')).length % 2).toBe(0);
  expect(count(body, '<details>')).toBe(count(body, '</details>'));
  expect(count(body, '<summary>')).toBe(count(body, '</summary>'));
}

describe('renderPrComment', () => {
  it('all pass across three targets: success, passing rows collapsed, chart per model', async () => {
    const out = renderPrComment(input(allPass()));
    expect(out.conclusion).toBe('success');
    expect(out.title).toBe('9 engines on 3 targets passed');
    expect(out.failures).toEqual([]);
    expect(out.body).toContain('### ✅ kiln: 9 engines on 3 targets passed');
    // Passing rows and the charts, each collapsed.
    expect(count(out.body, '<details>')).toBe(2);
    expect(count(out.body, '```mermaid')).toBe(2);
    expect(out.body).toContain('title "ocr-det: p99 ms (n=200), bars head, line base"');
    expect(out.body).toContain('| p99 5.50 → 5.46 (n=200/200) | -0.0400 ms | -0.7% [-1.9%, +0.4%] p99 |');
    expect(out.body).toContain(
      'Head [`0123456789ab`](https://github.com/o/r/commit/0123456789abcdef0123456789abcdef01234567) vs merge base [`fedcba987654`](https://github.com/o/r/commit/fedcba9876543210fedcba9876543210fedcba98)',
    );
    expect(out.summary).toBe(out.body.slice(MARKER.length + 1));
    expectWellFormed(out.body);
    await expect(out.body).toMatchFileSnapshot('__snapshots__/pr-comment-all-pass.md');
  });

  it('names an int8 engine slower than fp32, and fails the check under gates.int8SlowerThanFp32: fail', async () => {
    const fp32 = engine({ model: 'ocr-cls', profile: 'line', p50: 1.1 });
    const int8 = engine({
      model: 'ocr-cls',
      profile: 'line',
      precision: 'int8',
      p50: 1.6,
      int8SpeedupVsFp32: 1.1 / 1.6,
      int8SpeedupDetail: 'p50 int8 1.60 ms vs fp32 1.10 ms',
    });
    const builds = [build('cpu', [fp32, int8])];
    const gates = input().gates;
    const warned = renderPrComment(input({ builds, expectedTargets: ['cpu'] }));
    expect(warned.conclusion).toBe('success');
    expect(warned.title).toBe('2 engines on 1 target passed, 1 int8 engine not faster than fp32');
    expect(warned.body).toContain(
      '- ⚠️ int8 slower than fp32 (0.69×): ocr-cls cpu/line (p50 int8 1.60 ms vs fp32 1.10 ms) (`gates.int8SlowerThanFp32: warn`).',
    );
    expectWellFormed(warned.body);
    await expect(warned.body).toMatchFileSnapshot('__snapshots__/pr-comment-int8-slower.md');
    const failed = renderPrComment(
      input({ builds, expectedTargets: ['cpu'], gates: { ...gates, int8SlowerThanFp32: 'fail' } }),
    );
    expect(failed.conclusion).toBe('failure');
    expect(failed.failures).toEqual(['int8: ocr-cls cpu/line/int8: int8 slower than fp32 (0.69×)']);
    // Not compared (no fp32 engine): unknown is refused too, never passed.
    const alone = { ...int8, int8SpeedupVsFp32: null, int8SpeedupDetail: 'no fp32 engine' };
    const unknown = renderPrComment(
      input({
        builds: [build('cpu', [alone])],
        expectedTargets: ['cpu'],
        gates: { ...gates, int8SlowerThanFp32: 'fail' },
      }),
    );
    expect(unknown.conclusion).toBe('failure');
    expect(unknown.failures).toEqual([
      'int8: ocr-cls cpu/line/int8: int8 speed vs fp32 unknown: no fp32 engine',
    ]);
  });

  it('golden failure with NaN on one target fails the gate and leads the table', async () => {
    const { builds, ab: abResults } = allPass();
    const nan = comparison({ output: 'boxes', maxAbsDiff: NaN, nanGot: 12, mismatches: 12, pass: false });
    const a10g = builds[1]?.engines ?? [];
    builds[1] = build('a10g', [...a10g, engine({ precision: 'fp16', outputs: [comparison(), nan] })]);
    const out = renderPrComment(input({ builds, ab: abResults }));
    expect(out.conclusion).toBe('failure');
    expect(out.title).toBe('1 golden failure across 3 targets');
    expect(out.failures).toEqual(['golden: ocr-det a10g/s384/fp16: max Δ NaN, 12 NaN on boxes']);
    expect(out.body).toContain('| ocr-det | a10g | s384 | fp16 | ❌ fail: max Δ NaN, 12 NaN in `boxes` |');
    expectWellFormed(out.body);
    await expect(out.body).toMatchFileSnapshot('__snapshots__/pr-comment-golden-nan.md');
  });

  it('golden failure in warn mode is reported but does not fail', () => {
    const nan = comparison({ maxAbsDiff: 0.5, mismatches: 3, pass: false });
    const gates = {
      golden: 'warn',
      latency: { metric: 'p99', maxRegressionPct: 10, confidence: 0.95 },
      int8SlowerThanFp32: 'warn',
    } as const;
    const builds = TARGETS.map((t) => build(t, [engine({ outputs: [nan] })]));
    const out = renderPrComment(input({ builds, gates }));
    expect(out.conclusion).toBe('success');
    expect(out.title).toBe('3 engines on 3 targets passed, 3 golden failures in warn mode');
    expect(out.body).toContain('⚠️ fail (warn only): max Δ 0.5 in `logits`');
    expect(out.failures).toEqual([]);
  });

  it('latency regression shows the change with its confidence interval and fails', async () => {
    const { builds } = allPass();
    const regressed = ab('l4', [
      { p99: [0.7644, 0.8584], ratio: 1.123, ci: [1.101, 1.146], verdict: 'regression' },
      { profile: 's640', p99: [0.76, 0.68], ratio: 0.895, ci: [0.88, 0.91], verdict: 'improvement' },
    ]);
    const out = renderPrComment(input({ builds, ab: [...allPass().ab.slice(0, 2), regressed] }));
    expect(out.conclusion).toBe('failure');
    expect(out.title).toBe('1 latency regression across 3 targets');
    expect(out.body).toContain('+12.3% [+10.1%, +14.6%] p99');
    expect(out.body).toContain('| ocr-det | l4 | s384 | fp32 |');
    expect(out.failures).toEqual([
      'latency: ocr-det l4/s384/fp32: +12.3% [+10.1%, +14.6%] p99, over the +10% limit',
    ]);
    expectWellFormed(out.body);
    await expect(out.body).toMatchFileSnapshot('__snapshots__/pr-comment-latency-regression.md');
  });

  it('a comparison that fell back to p50 names p50 in its cells and its chart draws p50', () => {
    // 40 samples per side cannot hold a p99 tail: the gate compared p50, +490%. The p99s point the
    // other way; a chart of p99 would draw the head bar below the base line.
    const fellBack = (profile: string, p50: [number, number], p99: [number, number]): AbOptions => ({
      profile,
      statistic: 'p50',
      base: { p50: p50[0], p99: p99[0], n: 40 },
      head: { p50: p50[1], p99: p99[1], n: 40 },
      ratio: p50[1] / p50[0],
      ci: [p50[1] / p50[0] - 0.5, p50[1] / p50[0] + 0.5],
      verdict: 'regression',
    });
    const builds = [build('cpu', [engine(), engine({ profile: 's640' })])];
    const comparisons = [fellBack('s384', [1, 5.9], [9, 6]), fellBack('s640', [2, 2.1], [3, 3.1])];
    const out = renderPrComment(input({ builds, expectedTargets: ['cpu'], ab: [ab('cpu', comparisons)] }));
    expectWellFormed(out.body);
    expect(out.body).toContain('| p50 1.00 → 5.90 (n=40/40) | +4.90 ms | +490.0% [+440.0%, +540.0%] p50 |');
    expect(out.body).not.toMatch(/p99 ms|p99 9\.00/);
    expect(out.body).toContain('title "ocr-det: p50 ms (n=40), bars head, line base"');
    expect(out.body).toContain('  bar [5.9, 2.1]');
    expect(out.body).toContain('  line [1, 2]');
  });

  it('unstable comparisons are not blamed on the model and never fail the gate', async () => {
    const builds = [build('cpu', [engine()])];
    const note = 'base and head windows never agreed (cv 14%)';
    const out = renderPrComment(
      input({
        builds,
        expectedTargets: ['cpu'],
        ab: [ab('cpu', [{ p99: [5.46, 7.64], ci: [0.93, 1.9], verdict: 'unstable', note }])],
      }),
    );
    expect(out.conclusion).toBe('success');
    expect(out.body).toContain('⚠️ unstable, not blamed on the model: base and head windows never agreed');
    expect(out.body).toContain('unstable never fails the gate');
    expect(out.failures).toEqual([]);
    await expect(out.body).toMatchFileSnapshot('__snapshots__/pr-comment-unstable.md');
  });

  it('a new model (no merge-base engine) is reported as new and passes', async () => {
    const builds = [build('cpu', [engine({ model: 'ocr-rec' })])];
    const out = renderPrComment(
      input({ builds, expectedTargets: ['cpu'], ab: [ab('cpu', [{ model: 'ocr-rec', p99: [null, 7.1] }])] }),
    );
    expect(out.conclusion).toBe('success');
    expect(out.body).toContain('| p99 7.10 (n=200) | — | — | 🆕 new (no base) |');
    // One bar says less than the row: no chart.
    expect(out.body).not.toContain('```mermaid');
    await expect(out.body).toMatchFileSnapshot('__snapshots__/pr-comment-new-model.md');
  });

  it('a budget-limited comparison names the statistic it gated, and the comment says what was timed', async () => {
    const builds = [build('l4', [engine(), engine({ profile: 's640' })])];
    const measures = 'TensorRT GPU compute time (trtexec --exportTimes computeMs, no host-device copies)';
    const note = 'p99 gated as p90 (412 samples per side within 60 s budget; p99 needs 1000)';
    const comparisons: AbOptions[] = [
      {
        ...{ statistic: 'p90', note, measures, p99: [5.46, 5.5], ci: [0.97, 1.04], verdict: 'unchanged' },
        base: { p50: 4.2, p90: 5.0, p99: 5.46, n: 412 },
        head: { p50: 4.23, p90: 5.04, p99: 5.5, n: 412 },
        ratio: 5.04 / 5.0,
      },
      { profile: 's640', measures, p99: [7, 7.1], ci: [0.98, 1.04], verdict: 'unchanged' },
    ];
    const out = renderPrComment(input({ builds, expectedTargets: ['l4'], ab: [ab('l4', comparisons)] }));
    expect(out.conclusion).toBe('success');
    expect(out.body).toContain(`➖ unchanged: ${note} |`);
    // The comparison that reached p99 carries no note.
    expect(out.body).toMatch(/\| s640 \|[^\n]*➖ unchanged \|/);
    expect(out.body).toContain(`- Latency measured as ${measures}, base and head alike.`);
    expectWellFormed(out.body);
    await expect(out.body).toMatchFileSnapshot('__snapshots__/pr-comment-budget-fallback.md');
  });

  it('an expected target without results is named and fails the gate', async () => {
    const { builds, ab: abResults } = allPass();
    const out = renderPrComment(input({ builds: builds.slice(0, 2), ab: abResults.slice(0, 2) }));
    expect(out.conclusion).toBe('failure');
    expect(out.title).toBe('1 missing target across 3 targets');
    expect(out.body).toContain('target l4 produced no results (job failed or was cancelled)');
    expect(out.failures).toEqual(['missing: target l4 produced no results (job failed or was cancelled)']);
    await expect(out.body).toMatchFileSnapshot('__snapshots__/pr-comment-missing-target.md');
  });

  it('planned nothing: a short neutral comment', async () => {
    const out = renderPrComment(input({ plannedNothing: true, expectedTargets: [] }));
    expect(out.conclusion).toBe('neutral');
    expect(out.title).toBe('nothing to build');
    expect(out.body).toContain('No model or `kiln.yaml` change');
    expectWellFormed(out.body);
    await expect(out.body).toMatchFileSnapshot('__snapshots__/pr-comment-planned-nothing.md');
  });

  it('no results and no expected targets is neutral', () => {
    const out = renderPrComment(input({ expectedTargets: [] }));
    expect(out.conclusion).toBe('neutral');
    expect(out.title).toBe('no results to report');
  });

  it('hostile names, branches and error text render as text', async () => {
    const model = 'x|y <img src=x onerror=alert(1)> @octocat [c](http://e.vil)';
    const failure = `boom --> <details><summary>pwn</summary> ${MARKER} <!-- hide`;
    const bad = comparison({ output: 'out`|`put', maxAbsDiff: 3, pass: false });
    const builds = [
      build('cpu', [engine({ model, failure, outputs: [bad] }), engine({ model, profile: 'ok' })]),
    ];
    const context = { headSha: 'x`y -->', baseRef: 'feat/``evil`` --> <!-- @octocat' };
    const out = renderPrComment(input({ builds, expectedTargets: ['cpu', 'a10g<img src=y>'], context }));
    expectWellFormed(out.body);
    expect(out.body).not.toContain('<img');
    expect(out.body).not.toContain('@octocat');
    expect(out.body).not.toMatch(/\]\(http/);
    // Only kiln's own: the passing rows and the chart of the two engines.
    expect(count(out.body, '<details>')).toBe(2);
    expect(count(out.body, '<summary>')).toBe(2);
    expect(count(out.body, '<!--')).toBe(1);
    expect(out.failures.every((line) => !line.includes('\n') && !line.includes('\r'))).toBe(true);
    const job = renderJobSummary(input({ builds, context }));
    expect(job).not.toContain('<img');
    expect(count(job, '<details>')).toBe(2);
    await expect(out.body).toMatchFileSnapshot('__snapshots__/pr-comment-hostile.md');
  });

  it('property: hostile model and profile names never inject script, cells or a second marker', () => {
    const hostile = fc.string({
      unit: fc.constantFrom(
        '|',
        '\\',
        '`',
        '<',
        '>',
        '<script>',
        '-->',
        MARKER,
        '\n',
        '"',
        ';',
        'a',
        ' ',
        '@',
        '%%',
      ),
      maxLength: 12,
    });
    fc.assert(
      fc.property(hostile, hostile, fc.string(), (model, profile, other) => {
        const builds = [build('cpu', [engine({ model, profile }), engine({ model: other, p50: 3 })])];
        const abResults = [ab('cpu', [{ model, profile, verdict: 'regression', ratio: 1.3 }])];
        const out = renderPrComment(input({ builds, ab: abResults, expectedTargets: ['cpu'] }));
        expectWellFormed(out.body);
        expect(out.body.toLowerCase()).not.toContain('<script');
        const mermaid = out.body
          .split('\n')
          .filter((l) => l.startsWith('  x-axis') || l.startsWith('  title'));
        for (const line of mermaid) {
          expect(line.replace(/"[^"`;%#\n]*"/g, 'S')).toMatch(/^ {2}(title S|x-axis \[S(, S)*\])$/);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('size limits', () => {
  /** 2000 engines over 4 targets; every `failEvery`-th fails its golden check with a long message. */
  function large(failEvery: number): PrCommentInput {
    const builds = ['cpu', 'a10g', 'l4', 't4'].map((target) => {
      const engines = Array.from({ length: 500 }, (_, i) => {
        const failing = i % failEvery === 0;
        const outputs = [comparison({ maxAbsDiff: failing ? 0.25 : 1e-7, pass: !failing })];
        const failure = failing ? `output logits differs at [0, ${i}]: ${'x'.repeat(120)}` : undefined;
        return engine({
          model: `model-${i % 50}`,
          profile: `p${i}`,
          outputs,
          ...(failure ? { failure } : {}),
        });
      });
      return build(target, engines);
    });
    return input({ builds, expectedTargets: ['cpu', 'a10g', 'l4', 't4'] });
  }

  it('2000 engines, many failing: the failure table is trimmed whole rows at a time', () => {
    const out = renderPrComment(large(2));
    expect(out.body.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(out.body).toContain('Full report: [job summary](https://github.com/o/r/actions/runs/1#summary-2)');
    expectWellFormed(out.body);
    expect(out.body).not.toContain('<details>');
    const rows = out.body.split('\n').filter((l) => l.startsWith('| model-')).length;
    expect(out.body).toContain(`_${1000 - rows} more rows left out to fit; see the full report._`);
    expect(rows).toBeGreaterThan(50);
    expect(out.summary.length).toBeLessThanOrEqual(65535);
    expect(out.failures).toHaveLength(1000);
    const job = renderJobSummary(large(2));
    expect(job).not.toContain('Full report');
    expect(job.split('\n').filter((l) => l.startsWith('| model-'))).toHaveLength(2000);
  });

  it('2000 engines, few failing: passing details dropped first, every failure row kept', () => {
    const out = renderPrComment(large(100));
    expect(out.body.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(out.body).toContain('Full report: [job summary]');
    expectWellFormed(out.body);
    expect(out.body).not.toMatch(/<summary>\d+ passing engines/);
    expect(out.body.split('\n').filter((l) => l.startsWith('| model-'))).toHaveLength(20);
    expect(out.title).toBe('20 golden failures across 4 targets');
  });

  it('fitMarkdown keeps blocks whole and measures bytes when asked', () => {
    const blocks = [
      { head: ['# title'] },
      { head: ['| a |', '| - |'], items: ['| 1 |', '| 2 |', '| 3 |'], more: (n: number) => `${n} more` },
      { head: ['```', 'ééé', '```'], drop: 1 },
    ];
    const all = fitMarkdown(blocks, { limit: 1000, pointer: 'see' });
    expect(all).toEqual({
      text: '# title\n\n| a |\n| - |\n| 1 |\n| 2 |\n| 3 |\n\n```\nééé\n```\n',
      truncated: false,
    });
    const measure = (s: string): number => Buffer.byteLength(s);
    const cut = fitMarkdown(blocks, { limit: all.text.length, pointer: 'see', measure });
    expect(cut.text).toBe('# title\n\n| a |\n| - |\n| 1 |\n| 2 |\n| 3 |\n\nsee\n');
    const trimmed = fitMarkdown(blocks, { limit: 40, pointer: 'see' });
    expect(trimmed.text).toBe('# title\n\n| a |\n| - |\n| 1 |\n\n2 more\n\nsee\n');
    expect(trimmed.text.length).toBeLessThanOrEqual(40);
  });

  it('mermaidLabel quotes and strips what could end a string or the fence', () => {
    expect(mermaidLabel('a"b;c`d\ne%%f#g<h>')).toBe('"a_b_c_d e__f_g_h_"');
    expect(mermaidLabel('')).toBe('"?"');
    expect(mermaidLabel('x'.repeat(50), 10)).toBe(`"${'x'.repeat(9)}…"`);
  });
});
