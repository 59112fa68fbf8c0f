/**
 * The zod schemas of the results files (src/core/results.ts): `kiln report`, `kiln publish`, the
 * Action's report and the agent's spool all read them through readResultsFile, so a file of `{}`,
 * `null` or wrong types is refused in one line naming the key instead of crashing a renderer.
 * Objects are loose: a newer kiln may add fields, and an older reader must still render the rest.
 */
import { z } from 'zod';

// JSON has no NaN or Infinity: JSON.stringify writes a non-finite measurement as null (a failing
// golden suite's max Δ, say), and the report must still show that file, so measurements may be null.
const measured = z.number().nullable();
const count = z.number().int().nonnegative();
const precision = z.enum(['fp32', 'fp16', 'int8']);

const tensorComparison = z.looseObject({
  output: z.string(),
  dtype: z.string(),
  shape: z.array(z.number()),
  total: count,
  maxAbsDiff: measured,
  maxRelDiff: measured,
  mismatches: count,
  cosine: measured,
  worstIndex: z.array(z.number()),
  worstRef: measured,
  worstGot: measured,
  nanRef: count,
  nanGot: count,
  infRef: count,
  infGot: count,
  atol: z.number(),
  rtol: z.number(),
  minCosine: z.number().optional(),
  pass: z.boolean(),
});

const latencyStats = z.looseObject({
  n: count,
  p50: measured,
  p90: measured,
  p99: measured,
  mean: measured,
  stddev: measured,
  min: measured,
  max: measured,
  stable: z.boolean(),
  measures: z.string().optional(),
  stabilityPct: z.number(),
  warmup: count,
  threads: count,
  coldStart: z.looseObject({ createMs: measured, firstRunMs: measured }),
});

const engineResult = z.looseObject({
  model: z.string(),
  profile: z.string(),
  precision,
  target: z.string(),
  backend: z.string(),
  key: z.string(),
  cache: z.enum(['hit', 'miss']),
  enginePath: z.string(),
  golden: z.looseObject({
    pass: z.boolean(),
    source: z.enum(['npy', 'synthetic']),
    samples: count,
    outputs: z.array(tensorComparison),
    failure: z.string().optional(),
  }),
  latency: z.looseObject({ engine: latencyStats, reference: latencyStats.optional() }),
  speedup: measured.optional(),
  int8SpeedupVsFp32: measured.optional(),
  int8SpeedupDetail: z.string().optional(),
  phases: z.looseObject({ compileMs: z.number(), goldenMs: z.number(), benchMs: z.number() }),
});

export const buildResultsSchema = z.looseObject({
  schema: z.literal('kiln.build-results/v1'),
  kilnVersion: z.string(),
  target: z.string(),
  backend: z.string(),
  hardware: z.record(z.string(), z.unknown()),
  startedAt: z.string(),
  finishedAt: z.string(),
  engines: z.array(engineResult),
  gates: z.looseObject({
    golden: z.enum(['pass', 'fail', 'warn']),
    int8Speed: z.enum(['pass', 'fail', 'warn']).optional(),
  }),
});

const summary = z.looseObject({ p50: measured, p99: measured, n: count });

export const abResultsSchema = z.looseObject({
  schema: z.literal('kiln.ab-results/v1'),
  target: z.string(),
  baseRef: z.string(),
  comparisons: z.array(
    z.looseObject({
      model: z.string(),
      profile: z.string(),
      precision,
      target: z.string(),
      metric: z.enum(['p50', 'p99']),
      base: summary.optional(),
      head: summary,
      ratio: measured.optional(),
      ci: z.tuple([measured, measured]).optional(),
      confidence: z.number(),
      maxRegressionPct: z.number(),
      verdict: z.enum(['regression', 'improvement', 'unchanged', 'unstable', 'new']),
      note: z.string().optional(),
      measures: z.string().optional(),
      budgetMs: measured.optional(),
      blocks: z.looseObject({ base: count, head: count }).optional(),
    }),
  ),
});

export const interferenceSchema = z.looseObject({
  schema: z.literal('kiln.interference/v1'),
  device: z.string(),
  gpuUuid: z.string(),
  command: z.string(),
  attempts: count,
  interfered: z.boolean(),
  events: z.array(
    z.looseObject({
      at: z.string(),
      pid: z.number(),
      processName: z.string(),
      usedMiB: z.number().optional(),
    }),
  ),
  samples: count.optional(),
  failedSamples: count.optional(),
});
