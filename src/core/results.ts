/**
 * The machine-readable result of a build (`kiln build --json FILE`). The report renderer, the Action
 * and the artifact store all read these shapes, so they are the contract between the parts.
 */

export type Precision = 'fp32' | 'fp16' | 'int8';

/** How one output tensor of the engine compares with the reference, worst sample kept. */
export interface TensorComparison {
  output: string;
  dtype: string;
  shape: number[];
  /** Element count compared. */
  total: number;
  maxAbsDiff: number;
  maxRelDiff: number;
  /** Elements where |got - ref| > atol + rtol * |ref|. */
  mismatches: number;
  cosine: number;
  /** Multi-dimensional index of the element with the largest |got - ref|. */
  worstIndex: number[];
  worstRef: number;
  worstGot: number;
  /** Non-finite counts: any NaN fails the comparison, Inf fails unless both sides agree. */
  nanRef: number;
  nanGot: number;
  infRef: number;
  infGot: number;
  atol: number;
  rtol: number;
  /** Set when the output was judged on similarity (int8): pass means cosine >= minCosine. */
  minCosine?: number;
  pass: boolean;
}

export interface GoldenResult {
  pass: boolean;
  /** Where inputs came from: `.npy` files or the seeded generator. */
  source: 'npy' | 'synthetic';
  samples: number;
  /** Per output, the worst sample. */
  outputs: TensorComparison[];
  /** One line naming the worst failing tensor, when the suite failed. */
  failure?: string;
}

/** Latency of one session, in milliseconds. */
export interface LatencyStats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  stddev: number;
  min: number;
  max: number;
  /** True when successive windows of samples agreed within `stabilityPct`. */
  stable: boolean;
  /** What the samples measure (EngineSession.measures); absent in results written before it. */
  measures?: string;
  stabilityPct: number;
  warmup: number;
  threads: number;
  /** Session creation and the first run after it, measured separately from steady state. */
  coldStart: { createMs: number; firstRunMs: number };
}

export interface EngineResult {
  model: string;
  profile: string;
  precision: Precision;
  target: string;
  backend: string;
  key: string;
  cache: 'hit' | 'miss';
  /** Path of the engine file inside the store. */
  enginePath: string;
  golden: GoldenResult;
  latency: {
    engine: LatencyStats;
    /** The uncompiled reference session on the same inputs, same machine, same run. */
    reference?: LatencyStats;
  };
  /** reference p50 / engine p50; > 1 means the engine is faster. */
  speedup?: number;
  /**
   * int8 engines: fp32 engine p50 / this engine's p50 for the same profile and target (< 1: int8 is
   * slower than fp32); null when it could not be compared, `int8SpeedupDetail` says why.
   */
  int8SpeedupVsFp32?: number | null;
  int8SpeedupDetail?: string;
  /** Wall time spent per phase in this run, ms (compile is 0 on a cache hit). */
  phases: { compileMs: number; goldenMs: number; benchMs: number };
}

export interface BuildResults {
  schema: 'kiln.build-results/v1';
  kilnVersion: string;
  target: string;
  backend: string;
  /** The hardware compatibility fingerprint the engines were keyed with. */
  hardware: Record<string, unknown>;
  startedAt: string;
  finishedAt: string;
  engines: EngineResult[];
  /** Gate verdicts for this run. */
  gates: { golden: 'pass' | 'fail' | 'warn'; int8Speed?: 'pass' | 'fail' | 'warn' };
}

/** Verdict of a base-vs-head latency comparison. */
export type LatencyVerdict = 'regression' | 'improvement' | 'unchanged' | 'unstable' | 'new';

/** A latency percentile kiln reports and compares. */
export type LatencyStatistic = 'p50' | 'p90' | 'p99';

/**
 * Head vs merge-base latency of one engine, measured interleaved (ABAB…) on the same machine in the
 * same job (`kiln bench --base REF`).
 */
export interface LatencyComparison {
  model: string;
  profile: string;
  precision: Precision;
  target: string;
  metric: 'p50' | 'p99';
  /** Base and head summaries (ms); base is absent for a model or profile new in this change. */
  base?: { p50: number; p90?: number; p99: number; n: number };
  head: { p50: number; p90?: number; p99: number; n: number };
  /**
   * The percentile `ratio` and `ci` compare: `metric`, or p90/p50 when too few samples hold its tail.
   * Absent in results written before it was recorded (then `metric`).
   */
  statistic?: LatencyStatistic;
  /** head / base of `metric`; > 1 is slower. */
  ratio?: number;
  /** Bootstrap confidence interval of `ratio` at `confidence`. */
  ci?: [number, number];
  confidence: number;
  /**
   * The smallest slowdown the gate must catch (T = maxRegressionPct/100): a regression is a CI lower
   * bound above 1 and a ratio of at least 1 + T/2 (src/core/latency-regression.ts).
   */
  maxRegressionPct: number;
  verdict: LatencyVerdict;
  /**
   * Why the verdict is `unstable` (e.g. base and head windows never agreed), or that the budget
   * could not reach `metric` and which statistic was gated instead (`p99 gated as p90 (…)`).
   */
  note?: string;
  /** What each side's samples measure (both sides alike), e.g. `TensorRT GPU compute time (…)`. */
  measures?: string;
  /** The wall-clock budget both sides shared, ms (derived from one run's duration). */
  budgetMs?: number;
  /** Blocks (tool processes) per side, when latency was timed in blocks (trtexec). */
  blocks?: { base: number; head: number };
}

export interface AbResults {
  schema: 'kiln.ab-results/v1';
  target: string;
  baseRef: string;
  comparisons: LatencyComparison[];
}

/**
 * What `kiln-agent run` saw on its leased GPU: foreign compute processes during a build or
 * benchmark. Dropped into the agent's results spool so `/metrics` counts interference per device.
 */
export interface InterferenceRecord {
  schema: 'kiln.interference/v1';
  device: string;
  gpuUuid: string;
  command: string;
  attempts: number;
  /** True when every attempt was interfered (the figures reflect the neighbour). */
  interfered: boolean;
  events: Array<{ at: string; pid: number; processName: string; usedMiB?: number }>;
  /** nvidia-smi process queries that answered, over all attempts. */
  samples?: number;
  /** Queries that failed: with no events, a record whose samples all failed says nothing about neighbours. */
  failedSamples?: number;
}
