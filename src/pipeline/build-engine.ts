import path from 'node:path';
import type { BenchConfig } from '../core/config-schema.js';
import type { EngineResult } from '../core/results.js';
import type { Backend } from '../backends/backend.js';
import type { ArtifactRecord } from '../store/artifact.js';
import type { StoredArtifact } from '../store/local-store.js';
import type { Provenance } from '../store/release/provenance.js';
import { systemClock, type Clock } from './clock.js';
import { compileRequest } from './compile-spec.js';
import { benchEngine } from './engine-bench.js';
import { commitBuilt, commitRecheck, shareEngine, type CompiledEngine } from './engine-commit.js';
import { checkGolden, goldenSpec } from './engine-golden-check.js';
import type { EngineJob } from './engine-jobs.js';
import { lookupEngine, type EngineSources } from './engine-lookup.js';
import { goldenSpecSha256 } from './golden-record.js';

export interface BuildEngineContext extends EngineSources {
  backend: Backend;
  target: string;
  bench: BenchConfig;
  /** When false, a golden failure does not keep the engine out of the store (gates.golden: warn). */
  goldenGateFails: boolean;
  clock?: Clock;
  /** Recorded in artifact.json of engines built here. */
  provenance?: Provenance;
}

/**
 * key → cache lookup → compile → golden → bench → store, for one engine. A hit whose golden spec is
 * unchanged reuses the stored verdict and latency; a changed spec re-runs golden on the cached engine.
 */
export async function buildEngine(job: EngineJob, ctx: BuildEngineContext): Promise<EngineResult> {
  const clock = ctx.clock ?? systemClock;
  const specSha256 = await goldenSpecSha256(goldenSpec(job));
  const base = {
    model: job.model.name,
    profile: job.profile.name,
    precision: job.precision,
    target: ctx.target,
    backend: ctx.backend.name,
    key: job.key,
  };

  const found = await lookupEngine(job, ctx);
  if (found.status === 'corrupt')
    ctx.progress.warn(
      `${job.model.name}/${job.key.slice(0, 12)}: cache entry refused (${found.reason}); rebuilding`,
    );
  const cached = found.status === 'hit' ? found.artifact : undefined;
  if (cached?.record.golden.specSha256 === specSha256) return { ...base, ...verifiedHit(job, cached, ctx) };

  const staging = await ctx.store.stage(job.model.name, job.key);
  try {
    const compiled = cached ? reuse(job, cached, ctx) : await compile(job, staging.dir, ctx, clock);
    const check = await checkGolden(job, compiled.enginePath, staging.dir, {
      ...ctx,
      threads: ctx.bench.threads,
      clock,
    });
    const bench = await benchEngine(job, compiled.enginePath, check.inputs.samples, { ...ctx, clock });
    const golden = check.golden.result;
    const measured = {
      golden,
      latency: bench.latency,
      speedup: bench.speedup,
      phases: { compileMs: compiled.compileMs, goldenMs: check.goldenMs, benchMs: bench.benchMs },
    };
    if (!cached && !golden.pass && ctx.goldenGateFails)
      return { ...base, cache: 'miss', enginePath: '', ...measured };

    const outcome = {
      result: golden,
      specSha256,
      samplesFiles: await check.finishRecord(check.inputs.samples),
    };
    if (cached) {
      const stored = await commitRecheck(staging, cached, outcome, bench);
      return { ...base, cache: 'hit', enginePath: stored.enginePath, ...measured };
    }
    const stored = await commitBuilt(staging, job, compiled, outcome, bench, ctx);
    await shareEngine(stored, job, ctx);
    return { ...base, cache: 'miss', enginePath: stored.enginePath, ...measured };
  } finally {
    await staging.discard();
  }
}

/** A hit whose golden spec is unchanged: the stored verdict and latency stand, nothing runs. */
function verifiedHit(job: EngineJob, cached: StoredArtifact, ctx: BuildEngineContext) {
  const { record, enginePath } = cached;
  ctx.progress.phase(
    'cache',
    `hit ${job.key.slice(0, 12)}: engine sha256 verified, compile/golden/bench skipped`,
  );
  return {
    cache: 'hit' as const,
    enginePath,
    golden: stripGolden(record.golden),
    latency: record.latency,
    ...(record.speedup ? { speedup: record.speedup } : {}),
    phases: { compileMs: 0, goldenMs: 0, benchMs: 0 },
  };
}

/** A hit whose golden inputs or tolerances changed: its engine is checked again, not rebuilt. */
function reuse(job: EngineJob, cached: StoredArtifact, ctx: BuildEngineContext) {
  ctx.progress.phase(
    'cache',
    `hit ${job.key.slice(0, 12)}, but golden inputs or tolerances changed: re-checking`,
  );
  return { enginePath: cached.enginePath, notes: [], files: [], compileMs: 0 };
}

async function compile(
  job: EngineJob,
  stagingDir: string,
  ctx: BuildEngineContext,
  clock: Clock,
): Promise<CompiledEngine & { compileMs: number }> {
  ctx.progress.phase('compile', `${ctx.backend.name} ${job.precision}, key ${job.key.slice(0, 12)}…`);
  const started = clock.now();
  const compiled = await ctx.backend.compile(compileRequest(job.compile, stagingDir));
  const compileMs = clock.now() - started;
  ctx.progress.phase('compile', 'done', compileMs);
  return {
    enginePath: path.join(stagingDir, compiled.fileName),
    notes: compiled.notes,
    ...(compiled.calibration ? { calibration: compiled.calibration } : {}),
    files: compiled.files ?? [],
    compileMs,
  };
}

function stripGolden(golden: ArtifactRecord['golden']): EngineResult['golden'] {
  const { specSha256: _spec, samplesFiles: _files, ...result } = golden;
  return result;
}
