import { z } from 'zod';

/**
 * The `kiln.yaml` schema (docs/architecture.md "Config"). Objects are strict so that a misspelt key is an error,
 * never a silently ignored setting.
 */

const positiveInt = z.number().int().positive();
/** `[]` is a rank-0 (scalar) input, such as a streaming model's sample rate. */
const shape = z.array(positiveInt);
const shapes = z.record(z.string().min(1), shape);
/** Names become store folder names and CLI selectors, so keep them filesystem- and shell-safe. */
const safeName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a name of letters, digits, ".", "_" or "-"');

export const PRECISIONS = ['fp32', 'fp16', 'int8'] as const;
export const BACKENDS = ['onnxruntime-cpu', 'tensorrt', 'onnxruntime-gpu'] as const;
/** Backends people ask for that kiln cannot build and run yet: refused by name rather than as a typo. */
const NOT_YET_SUPPORTED: readonly string[] = ['tvm'];

const fixedProfile = z.strictObject({ name: safeName, shapes });
const rangedProfile = z.strictObject({ name: safeName, min: shapes, opt: shapes, max: shapes });

const minCosine = z.number().gt(-1).max(1).optional();
const tolerance = z.strictObject({
  atol: z.number().nonnegative(),
  rtol: z.number().nonnegative(),
  /** Pass on similarity (cosine >= minCosine) rather than elementwise; the int8 default is 0.98. */
  minCosine,
  /** Per-output overrides, keyed by output name. */
  outputs: z
    .record(
      z.string(),
      z.strictObject({ atol: z.number().nonnegative(), rtol: z.number().nonnegative(), minCosine }),
    )
    .optional(),
});

const golden = z.strictObject({
  inputs: z.string().min(1).optional(),
  samples: positiveInt.max(1000).default(4),
  seed: z.number().int().nonnegative().default(0),
  tolerance: tolerance.optional(),
});

const calibration = z.strictObject({
  data: z.string().min(1),
  method: z.enum(['minmax', 'percentile', 'entropy']).default('percentile'),
  percentile: z.number().gt(0).max(100).default(99.99),
});

const benchFields = {
  warmup: z.number().int().nonnegative(),
  minSamples: positiveInt,
  maxSamples: positiveInt,
  budgetMs: positiveInt,
  stabilityPct: z.number().positive(),
};

const bench = z.strictObject({
  warmup: benchFields.warmup.default(5),
  minSamples: benchFields.minSamples.default(20),
  maxSamples: benchFields.maxSamples.default(500),
  budgetMs: benchFields.budgetMs.default(3000),
  stabilityPct: benchFields.stabilityPct.default(5),
  threads: positiveInt.default(1),
});

/**
 * A model's own bench settings, merged over the global ones. Measurement only, so never keyed.
 * `threads` stays global: it also sets the golden sessions' threads and `kiln build --threads` overrides it.
 */
const modelBench = z.strictObject(benchFields).partial();

const model = z.strictObject({
  name: safeName,
  path: z.string().min(1),
  manifest: z.string().min(1).optional(),
  profiles: z.array(z.union([fixedProfile, rangedProfile])).min(1),
  precisions: z.array(z.enum(PRECISIONS)).min(1).default(['fp32']),
  calibration: calibration.optional(),
  golden: golden.default({ samples: 4, seed: 0 }),
  bench: modelBench.optional(),
});

/**
 * TensorRT plan portability (backend tensorrt only): trtexec `--hardwareCompatibilityLevel` and
 * `--versionCompatible` (TensorRT 8.6+; same-compute-capability 10.9+). Keyed: a portable plan is a
 * different engine, and its key drops what it is portable across (docs/tensorrt.md).
 */
export const TRT_HARDWARE_COMPATIBILITY = ['none', 'ampere+', 'same-compute-capability'] as const;
const trt = z.strictObject({
  hardwareCompatibility: z.enum(TRT_HARDWARE_COMPATIBILITY).default('none'),
  versionCompatible: z.boolean().default(false),
});

const target = z.strictObject({
  name: safeName,
  'runs-on': z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  backend: z.enum(BACKENDS, {
    error: (issue) =>
      typeof issue.input === 'string' && NOT_YET_SUPPORTED.includes(issue.input)
        ? `backend '${issue.input}' is not supported yet; supported: ${BACKENDS.join(', ')}`
        : undefined,
  }),
  trt: trt.optional(),
  expect: z
    .strictObject({
      computeCapability: z.string().optional(),
      tensorrt: z.string().optional(),
      cuda: z.string().optional(),
      driver: z.string().optional(),
    })
    .optional(),
});

const gates = z.strictObject({
  golden: z.enum(['fail', 'warn']).default('fail'),
  latency: z
    .strictObject({
      metric: z.enum(['p50', 'p99']).default('p99'),
      maxRegressionPct: z.number().positive().default(10),
      confidence: z.number().gt(0.5).lt(1).default(0.95),
    })
    .default({ metric: 'p99', maxRegressionPct: 10, confidence: 0.95 }),
  /** An int8 engine slower than the fp32 engine of its profile (or not compared with one): refuse or report. */
  int8SlowerThanFp32: z.enum(['fail', 'warn']).default('warn'),
});

/** Memory bounds in bytes; a PR's config can only lower the runner's (core/limits.ts). */
const limits = z.strictObject({
  maxTensorBytes: positiveInt.optional(),
  maxGoldenBytes: positiveInt.optional(),
  maxCalibrationBytes: positiveInt.optional(),
});

export const configSchema = z.strictObject({
  version: z.literal(1),
  store: z.string().min(1).default('.kiln/store'),
  models: z.array(model).min(1),
  targets: z
    .array(target)
    .min(1)
    .default([{ name: 'cpu', 'runs-on': ['self-hosted', 'linux', 'x64'], backend: 'onnxruntime-cpu' }]),
  gates: gates.default({
    golden: 'fail',
    latency: { metric: 'p99', maxRegressionPct: 10, confidence: 0.95 },
    int8SlowerThanFp32: 'warn',
  }),
  bench: bench.default({
    warmup: 5,
    minSamples: 20,
    maxSamples: 500,
    budgetMs: 3000,
    stabilityPct: 5,
    threads: 1,
  }),
  limits: limits.optional(),
  /** The Triton container release `kiln publish --triton` exports for ("25.01"); see docs/triton.md. */
  triton: z
    .strictObject({ release: z.string().regex(/^\d{2}\.\d{2}$/, 'a Triton release like "25.01"') })
    .optional(),
});

export type RawConfig = z.infer<typeof configSchema>;
export type ModelConfig = RawConfig['models'][number];
export type ProfileConfig = ModelConfig['profiles'][number];
export type TargetConfig = RawConfig['targets'][number];
export type BenchConfig = RawConfig['bench'];
export type GatesConfig = RawConfig['gates'];
export type ToleranceConfig = z.infer<typeof tolerance>;
export type CalibrationConfig = z.infer<typeof calibration>;
export type TrtConfig = z.infer<typeof trt>;
