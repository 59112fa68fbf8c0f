import { describe, expect, it } from 'vitest';
import type { EngineSession } from '../../src/backends/backend.js';
import { InputError } from '../../src/core/errors.js';
import type { ToleranceConfig } from '../../src/core/config-schema.js';
import type { Precision, TensorComparison } from '../../src/core/results.js';
import type { HostTensor } from '../../src/core/tensor.js';
import { runGoldenSuite, toleranceFor } from '../../src/pipeline/golden-suite.js';

const f64 = (values: number[], shape = [values.length]): HostTensor => ({
  dtype: 'float64',
  shape,
  data: Float64Array.from(values),
});

/** A fake session whose outputs for sample `i` come from `outputs(i)`; it records the inputs it saw. */
function session(outputNames: string[], outputs: (i: number) => Record<string, HostTensor>) {
  const seen: Array<Record<string, HostTensor>> = [];
  const fetched: string[][] = [];
  const s: EngineSession = {
    inputNames: ['x'],
    outputNames,
    // Counts samples, not runs: the suite runs a sample once per output group.
    run: async (inputs, names) => {
      if (seen.at(-1) !== inputs) seen.push(inputs);
      fetched.push([...(names ?? outputNames)]);
      return outputs(seen.length - 1);
    },
    bind: () => async () => undefined,
    release: async () => undefined,
  };
  return { session: s, seen, fetched };
}

const sample = (v: number) => ({ x: f64([v]) });
const samples = (n: number) => Array.from({ length: n }, (_, i) => sample(i));

/** Reference outputs a=[1,2,3], b=[10,20]; the engine's are off by `da`/`db` per sample. */
function pair(da: (i: number) => number, db: (i: number) => number = () => 0) {
  const reference = session(['a', 'b'], () => ({ a: f64([1, 2, 3]), b: f64([10, 20]) }));
  const engine = session(['a', 'b'], (i) => ({
    a: f64([1, 2 + da(i), 3]),
    b: f64([10, 20 + db(i)]),
  }));
  return { reference, engine };
}

async function suite(
  da: (i: number) => number,
  options: {
    db?: (i: number) => number;
    precision?: Precision;
    tolerance?: ToleranceConfig;
    n?: number;
  } = {},
) {
  const { reference, engine } = pair(da, options.db);
  return runGoldenSuite({
    reference: reference.session,
    engine: engine.session,
    samples: samples(options.n ?? 1),
    precision: options.precision ?? 'fp32',
    ...(options.tolerance ? { tolerance: options.tolerance } : {}),
    source: 'synthetic',
  });
}

const byName = (outputs: TensorComparison[], name: string) => outputs.find((o) => o.output === name)!;

describe('tolerance precedence', () => {
  it('per-output override beats model tolerance beats precision default', () => {
    const config: ToleranceConfig = { atol: 0.5, rtol: 0, outputs: { b: { atol: 0.01, rtol: 0.02 } } };
    expect(toleranceFor('b', 'fp32', config)).toEqual({ atol: 0.01, rtol: 0.02 });
    expect(toleranceFor('a', 'fp32', config)).toEqual({ atol: 0.5, rtol: 0 });
    expect(toleranceFor('a', 'fp32', undefined)).toEqual({ atol: 1e-4, rtol: 1e-3 });
    expect(toleranceFor('a', 'fp16', undefined)).toEqual({ atol: 1e-2, rtol: 1e-2 });
    // int8 is judged on similarity: elementwise diffs at a detector's edges are expected.
    expect(toleranceFor('a', 'int8', undefined)).toEqual({ atol: 5e-2, rtol: 5e-2, minCosine: 0.98 });
  });

  it('decides pass and fail per output in a run', async () => {
    // Both outputs are off by 0.1; only b has a tight override.
    const tolerance: ToleranceConfig = { atol: 0.5, rtol: 0, outputs: { b: { atol: 0.01, rtol: 0 } } };
    const run = await suite(() => 0.1, { db: () => 0.1, tolerance });
    expect(byName(run.result.outputs, 'a')).toMatchObject({ pass: true, atol: 0.5, rtol: 0 });
    expect(byName(run.result.outputs, 'b')).toMatchObject({ pass: false, atol: 0.01, rtol: 0 });
    expect(run.result.pass).toBe(false);
    expect(run.result.failure).toMatch(/^output 'b': 1 of 2 elements outside/);
  });

  it('a model tolerance loosens the precision default', async () => {
    expect((await suite(() => 0.1, { precision: 'fp16' })).result.pass).toBe(false);
    const loose = await suite(() => 0.1, { precision: 'fp16', tolerance: { atol: 0.2, rtol: 0 } });
    expect(loose.result.pass).toBe(true);
    expect(loose.result.outputs.every((o) => o.atol === 0.2)).toBe(true);
  });

  it('the precision default applies without a config', async () => {
    // 0.05 off at |ref| = 2: fails fp32 (1e-4 + 2e-3) and fp16 (1e-2 + 2e-2), passes int8 (5e-2 + 1e-1).
    expect((await suite(() => 0.05, { precision: 'fp32' })).result.pass).toBe(false);
    expect((await suite(() => 0.05, { precision: 'fp16' })).result.pass).toBe(false);
    const int8 = await suite(() => 0.05, { precision: 'int8' });
    expect(int8.result.pass).toBe(true);
    expect(byName(int8.result.outputs, 'a')).toMatchObject({ atol: 5e-2, rtol: 5e-2 });
  });
});

describe('runGoldenSuite', () => {
  it('identical outputs pass with no failure line', async () => {
    const run = await suite(() => 0, { n: 3 });
    expect(run.result).toMatchObject({ pass: true, samples: 3, source: 'synthetic' });
    expect(run.result.failure).toBeUndefined();
    expect(run.result.outputs.map((o) => o.output)).toEqual(['a', 'b']);
    for (const o of run.result.outputs) expect(o).toMatchObject({ maxAbsDiff: 0, mismatches: 0, cosine: 1 });
  });

  it('keeps the worst sample per output', async () => {
    // a is worst in sample 1, b in sample 2.
    const da = [0.001, 0.2, 0.01];
    const db = [0.5, 0.3, 2];
    const run = await suite((i) => da[i]!, { db: (i) => db[i]!, n: 3, tolerance: { atol: 10, rtol: 0 } });
    expect(run.result.pass).toBe(true);
    expect(byName(run.result.outputs, 'a').maxAbsDiff).toBeCloseTo(0.2, 12);
    expect(byName(run.result.outputs, 'a').worstGot).toBeCloseTo(2.2, 12);
    expect(byName(run.result.outputs, 'b').maxAbsDiff).toBeCloseTo(2, 12);
    expect(byName(run.result.outputs, 'b').worstIndex).toEqual([1]);
  });

  it('a failing sample is kept over larger passing ones', async () => {
    const da = [0.001, 0.2, 0.001];
    const run = await suite((i) => da[i]!, { n: 3, tolerance: { atol: 0.1, rtol: 0 } });
    expect(run.result.pass).toBe(false);
    expect(byName(run.result.outputs, 'a')).toMatchObject({ pass: false, mismatches: 1 });
    expect(byName(run.result.outputs, 'b').pass).toBe(true);
  });

  it('runs reference and engine on every sample and hands each reference output to the record', async () => {
    const { reference, engine } = pair(() => 0);
    const inputs = samples(4);
    const recorded: Array<[number, string, number[]]> = [];
    const run = await runGoldenSuite({
      reference: reference.session,
      engine: engine.session,
      samples: inputs,
      precision: 'fp32',
      source: 'npy',
      record: async (i, name, tensor) => {
        recorded.push([i, name, [...(tensor.data as Float64Array)]]);
      },
    });
    expect(reference.seen).toEqual(inputs);
    expect(engine.seen).toEqual(inputs);
    expect(recorded).toHaveLength(8);
    expect(recorded[7]).toEqual([3, 'b', [10, 20]]);
    expect(run.result.source).toBe('npy');
  });

  it('fetches one output per run unless told the groups, and each group once per sample', async () => {
    const three = () => ({ a: f64([1]), b: f64([2]), c: f64([3]) });
    const one = session(['a', 'b', 'c'], three);
    const other = session(['a', 'b', 'c'], three);
    await runGoldenSuite({
      reference: one.session,
      engine: other.session,
      samples: samples(1),
      precision: 'fp32',
      source: 'synthetic',
    });
    expect(one.fetched).toEqual([['a'], ['b'], ['c']]);
    const grouped = session(['a', 'b', 'c'], three);
    const engine = session(['a', 'b', 'c'], three);
    const run = await runGoldenSuite({
      reference: grouped.session,
      engine: engine.session,
      samples: samples(2),
      precision: 'fp32',
      source: 'synthetic',
      groups: () => [['c', 'a'], ['b']],
    });
    expect(grouped.fetched).toEqual([['c', 'a'], ['b'], ['c', 'a'], ['b']]);
    expect(engine.fetched).toEqual(grouped.fetched);
    // Reported in the model's output order whatever the groups' order.
    expect(run.result.outputs.map((o) => o.output)).toEqual(['a', 'b', 'c']);
  });

  it('NaN in the engine output fails, and the failure names the output', async () => {
    const reference = session(['logits', 'boxes'], () => ({ logits: f64([1, 2]), boxes: f64([3, 4]) }));
    const engine = session(['logits', 'boxes'], (i) => ({
      logits: f64([1, 2]),
      boxes: i === 1 ? f64([NaN, 4]) : f64([3, 4]),
    }));
    const run = await runGoldenSuite({
      reference: reference.session,
      engine: engine.session,
      samples: samples(3),
      precision: 'fp32',
      tolerance: { atol: 1e9, rtol: 1e9 },
      source: 'synthetic',
    });
    expect(run.result.pass).toBe(false);
    expect(byName(run.result.outputs, 'boxes')).toMatchObject({ pass: false, nanGot: 1 });
    expect(byName(run.result.outputs, 'logits').pass).toBe(true);
    expect(run.result.failure).toBe("output 'boxes': 1 NaN in engine output (reference has 0)");
  });

  it('NaN is named over a larger finite difference elsewhere', async () => {
    const reference = session(['a', 'b'], () => ({ a: f64([1, 2]), b: f64([3, 4]) }));
    const engine = session(['a', 'b'], () => ({ a: f64([100, 200]), b: f64([3, NaN]) }));
    const run = await runGoldenSuite({
      reference: reference.session,
      engine: engine.session,
      samples: samples(1),
      precision: 'fp32',
      source: 'synthetic',
    });
    expect(run.result.failure).toContain("output 'b'");
    expect(run.result.failure).toContain('NaN');
  });

  it('an engine output of another shape is one InputError naming the output', async () => {
    const reference = session(['y'], () => ({ y: f64([1, 2, 3, 4], [2, 2]) }));
    const engine = session(['y'], () => ({ y: f64([1, 2, 3, 4], [4]) }));
    await expect(
      runGoldenSuite({
        reference: reference.session,
        engine: engine.session,
        samples: samples(1),
        precision: 'fp32',
        source: 'synthetic',
      }),
    ).rejects.toThrow(new InputError("output 'y': engine output is 4 float64, reference is 2x2 float64"));
  });

  // Regression (was a bug in src/pipeline/golden-suite.ts runGoldenSuite, `got[name]!`): an engine that does not produce
  // one of the reference's outputs crashes with "Cannot read properties of undefined (reading
  // 'dtype')" instead of a result or error that names the missing output.
  it('an engine missing an output names that output', async () => {
    const reference = session(['y', 'aux'], () => ({ y: f64([1]), aux: f64([2]) }));
    const engine = session(['y'], () => ({ y: f64([1]) }));
    const outcome = await runGoldenSuite({
      reference: reference.session,
      engine: engine.session,
      samples: samples(1),
      precision: 'fp32',
      source: 'synthetic',
    }).then(
      (run) => run.result.failure ?? 'passed',
      (error: unknown) => String((error as Error).message),
    );
    expect(outcome).toContain("'aux'");
  });
});
