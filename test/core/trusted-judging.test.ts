import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/core/config-schema.js';
import { settingChanges, type JudgingSettings } from '../../src/core/setting-changes.js';
import { judgeWithTrusted } from '../../src/core/trusted-judging.js';
import { abResults, buildResults } from '../helpers/action-fakes.js';

const strict: JudgingSettings = {
  gates: configSchema.shape.gates.parse(undefined),
  bench: configSchema.shape.bench.parse(undefined),
  models: [{ name: 'det', golden: { samples: 4, seed: 0, tolerance: { atol: 0.001, rtol: 0.001 } } }],
};

describe('settingChanges', () => {
  it('lists each loosened or tightened leaf as base → head, sorted; equal settings list nothing', () => {
    const head: JudgingSettings = {
      gates: {
        golden: 'warn',
        latency: { ...strict.gates.latency, maxRegressionPct: 1000 },
        int8SlowerThanFp32: 'warn',
      },
      bench: { ...strict.bench, minSamples: 2 },
      models: [
        {
          name: 'det',
          golden: { samples: 4, seed: 0, tolerance: { atol: 1, rtol: 0.001 } },
          bench: { stabilityPct: 90 },
        },
        { name: 'new-model', golden: { samples: 4, seed: 0 } },
      ],
    };
    expect(settingChanges(strict, head)).toEqual([
      'bench.minSamples: 20 → 2',
      'gates.golden: fail → warn',
      'gates.latency.maxRegressionPct: 10 → 1000',
      'models[det].bench: (unset) → {"stabilityPct":90}',
      'models[det].golden.tolerance.atol: 0.001 → 1',
    ]);
    expect(settingChanges(strict, structuredClone(strict))).toEqual([]);
  });
});

describe('judgeWithTrusted', () => {
  it('re-judges a comparison by the trusted maxRegressionPct, not the one it ran with', () => {
    const ab = abResults('cpu', [{ model: 'det' }], 1.5); // 50% slower, CI [1.49, 1.51]
    ab.comparisons[0]!.maxRegressionPct = 1000;
    ab.comparisons[0]!.verdict = 'unchanged';
    const judged = judgeWithTrusted([], [ab], strict);
    expect(judged.ab[0]!.comparisons[0]).toMatchObject({ verdict: 'regression', maxRegressionPct: 10 });
    expect(judged.problems).toEqual([]);
  });

  it('a comparison measured with another metric, or too few samples, cannot be judged: a problem', () => {
    const ab = abResults('cpu', [{ model: 'det' }, { model: 'rec' }]);
    ab.comparisons[0]!.metric = 'p50';
    ab.comparisons[1]!.head.n = 3;
    const { problems } = judgeWithTrusted([], [ab], strict);
    expect(problems).toEqual([
      "latency: det cpu/default/fp32: measured as p50 at 95% confidence; the merge base's gate is p99 at 95%",
      "latency: rec cpu/default/fp32: 3 samples per side; the merge base's bench asks for at least 20",
    ]);
  });

  it('a golden pass under a looser tolerance fails unless its recorded worst case passes the trusted one', () => {
    const builds = buildResults('cpu', [{ model: 'det' }, { model: 'det', profile: 'close' }]);
    Object.assign(builds.engines[0]!.golden.outputs[0]!, { atol: 1, rtol: 1, maxAbsDiff: 0.4 });
    Object.assign(builds.engines[1]!.golden.outputs[0]!, { atol: 1, rtol: 1, maxAbsDiff: 0.0005 });
    const judged = judgeWithTrusted([builds], [], strict).builds[0]!.engines;
    expect(judged[0]!.golden).toMatchObject({
      pass: false,
      failure: "output y passed only under the pull request's tolerance, not the merge base's",
    });
    expect(judged[1]!.golden.pass).toBe(true);
  });

  it('NaN never passes, whatever the tolerance', () => {
    const builds = buildResults('cpu', [{ model: 'det' }]);
    Object.assign(builds.engines[0]!.golden.outputs[0]!, { atol: 1e9, rtol: 1e9, nanGot: 1 });
    expect(judgeWithTrusted([builds], [], strict).builds[0]!.engines[0]!.golden.pass).toBe(false);
  });
});
