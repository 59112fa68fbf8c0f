import { copyFile, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { BenchConfig } from '../core/config-schema.js';
import { sha256File } from '../core/io/file-hashing.js';
import type { EngineResult } from '../core/results.js';
import type { HostTensor } from '../core/tensor.js';
import { KILN_VERSION } from '../core/io/version.js';
import type { Backend } from '../backends/backend.js';
import type { CalibrationResult } from '../backends/int8/calibration.js';
import { benchShapes } from '../backends/model/profile-dims.js';
import { describeEngineFiles, type ArtifactRecord } from '../store/artifact.js';
import type { HostCache } from '../store/host-cache.js';
import type { RemoteEngineStore } from '../store/remote-engine-store.js';
import type { LocalStore } from '../store/local-store.js';
import type { Provenance } from '../store/release/provenance.js';
import { systemClock, type Clock } from './clock.js';
import { compileRequest } from './compile-spec.js';
import type { EngineJob } from './engine-jobs.js';
import { goldenGroups } from './golden-output-groups.js';
import { goldenRecordWriter, goldenSpecSha256 } from './golden-record.js';
import { runGoldenSuite } from './golden-suite.js';
import { benchFor, measureLatency } from './latency-bench.js';
import type { Progress } from './progress.js';

export interface BuildEngineContext {
  backend: Backend;
  store: LocalStore;
  target: string;
  bench: BenchConfig;
  /** When false, a golden failure does not keep the engine out of the store (gates.golden: warn). */
  goldenGateFails: boolean;
  progress: Progress;
  clock?: Clock;
  /** Engines shared by the jobs on this host (`--host-cache`): consulted on a miss, filled after a build. */
  hostCache?: HostCache;
  /** Engines shared through a registry (`--remote-store`): consulted after the host cache, filled after a build. */
  remoteStore?: RemoteEngineStore;
  /** Recorded in artifact.json of engines built here. */
  provenance?: Provenance;
}

/**
 * key → cache lookup → compile → golden → bench → store, for one engine. A hit whose golden spec is
 * unchanged reuses the stored verdict and latency; a changed spec re-runs golden on the cached engine.
 */
export async function buildEngine(job: EngineJob, ctx: BuildEngineContext): Promise<EngineResult> {
  const clock = ctx.clock ?? systemClock;
  const spec = goldenSpec(job);
  const specSha256 = await goldenSpecSha256(spec);
  const base = {
    model: job.model.name,
    profile: job.profile.name,
    precision: job.precision,
    target: ctx.target,
    backend: ctx.backend.name,
    key: job.key,
  };

  const found = await lookupWithHostCache(job, ctx);
  if (found.status === 'corrupt')
    ctx.progress.warn(
      `${job.model.name}/${job.key.slice(0, 12)}: cache entry refused (${found.reason}); rebuilding`,
    );
  if (found.status === 'hit' && found.artifact.record.golden.specSha256 === specSha256) {
    const { record, enginePath } = found.artifact;
    ctx.progress.phase(
      'cache',
      `hit ${job.key.slice(0, 12)}: engine sha256 verified, compile/golden/bench skipped`,
    );
    return {
      ...base,
      cache: 'hit',
      enginePath,
      golden: stripGolden(record.golden),
      latency: record.latency,
      ...(record.speedup ? { speedup: record.speedup } : {}),
      phases: { compileMs: 0, goldenMs: 0, benchMs: 0 },
    };
  }

  const staging = await ctx.store.stage(job.model.name, job.key);
  try {
    let enginePath: string;
    let compileMs = 0;
    let notes: string[] = [];
    let activations: CalibrationResult | undefined;
    let engineFiles: string[] = [];
    if (found.status === 'hit') {
      ctx.progress.phase(
        'cache',
        `hit ${job.key.slice(0, 12)}, but golden inputs or tolerances changed: re-checking`,
      );
      enginePath = found.artifact.enginePath;
    } else {
      ctx.progress.phase('compile', `${ctx.backend.name} ${job.precision}, key ${job.key.slice(0, 12)}…`);
      const started = clock.now();
      const compiled = await ctx.backend.compile(compileRequest(job.compile, staging.dir));
      compileMs = clock.now() - started;
      enginePath = path.join(staging.dir, compiled.fileName);
      notes = compiled.notes;
      activations = compiled.calibration;
      engineFiles = compiled.files ?? [];
      ctx.progress.phase('compile', 'done', compileMs);
    }

    const threads = { threads: ctx.bench.threads };
    const goldenStart = clock.now();
    const inputs = await job.golden();
    const reference = await ctx.backend.openReference(job.model.path, threads);
    const engine = await ctx.backend.openEngine(enginePath, threads);
    const recorder = goldenRecordWriter(staging.dir);
    let golden;
    try {
      golden = await runGoldenSuite({
        reference,
        engine,
        samples: inputs.samples,
        precision: job.precision,
        tolerance: spec.tolerance,
        source: inputs.source,
        groups: (sample, names) => goldenGroups(job.description, sample, names),
        record: recorder.output,
      });
    } finally {
      await Promise.all([reference.release(), engine.release()]);
    }
    const goldenMs = clock.now() - goldenStart;
    ctx.progress.phase(
      'golden',
      golden.result.pass
        ? `pass, ${inputs.samples.length} ${inputs.source} samples`
        : `FAIL ${golden.result.failure ?? ''}`,
      goldenMs,
    );

    const bench = benchFor(ctx.bench, job.model);
    ctx.progress.phase('bench', `engine and reference, up to ${bench.budgetMs} ms each…`);
    const benchStart = clock.now();
    const benchInputs = pickBenchInputs(inputs.samples, benchShapes(job.profile));
    const engineLatency = await measureLatency(
      () => ctx.backend.openEngine(enginePath, threads),
      benchInputs,
      bench,
      clock,
    );
    const referenceLatency = await measureLatency(
      () => ctx.backend.openReference(job.model.path, threads),
      benchInputs,
      bench,
      clock,
    );
    const benchMs = clock.now() - benchStart;
    const speedup = referenceLatency.p50 / engineLatency.p50;
    ctx.progress.phase(
      'bench',
      `p50 ${engineLatency.p50.toFixed(2)} ms, p99 ${engineLatency.p99.toFixed(2)} ms (reference p50 ${referenceLatency.p50.toFixed(2)} ms, ${speedup.toFixed(2)}×${basisText(engineLatency.measures, referenceLatency.measures)})${engineLatency.stable ? '' : ', unstable'}`,
      benchMs,
    );

    const latency = { engine: engineLatency, reference: referenceLatency };
    const phases = { compileMs, goldenMs, benchMs };
    if (found.status === 'hit') {
      // The verdict is recorded whatever it is: a cached engine that failed its re-check must never
      // be published, reused or verified on the strength of its first, passing golden run.
      const previous = found.artifact.record;
      await copyFile(enginePath, path.join(staging.dir, previous.engine.file));
      for (const extra of previous.engine.files ?? []) {
        await mkdir(path.dirname(path.join(staging.dir, extra.file)), { recursive: true });
        await copyFile(path.join(found.artifact.dir, extra.file), path.join(staging.dir, extra.file));
      }
      const samplesFiles = await recorder.finish(inputs.samples);
      const stored = await staging.commit({
        ...previous,
        golden: { ...golden.result, specSha256, samplesFiles, recheckedAt: new Date().toISOString() },
        latency,
        speedup,
      });
      return {
        ...base,
        cache: 'hit',
        enginePath: stored.enginePath,
        golden: golden.result,
        latency,
        speedup,
        phases,
      };
    }
    if (!golden.result.pass && ctx.goldenGateFails) {
      return { ...base, cache: 'miss', enginePath: '', golden: golden.result, latency, speedup, phases };
    }
    const samplesFiles = await recorder.finish(inputs.samples);
    const record: ArtifactRecord = {
      schema: 'kiln.artifact/v1',
      model: job.model.name,
      profile: job.profile.name,
      precision: job.precision,
      key: job.key,
      keyInputs: job.keyInputs,
      tags: {
        backend: ctx.backend.name,
        backendVersion: await ctx.backend.version(),
        hardware: job.keyInputs.hardware as Record<string, unknown>,
        kilnVersion: KILN_VERSION,
      },
      engine: {
        file: path.basename(enginePath),
        sha256: await sha256File(enginePath),
        bytes: (await stat(enginePath)).size,
        ...(engineFiles.length > 0 ? { files: await describeEngineFiles(staging.dir, engineFiles) } : {}),
      },
      golden: { ...golden.result, specSha256, samplesFiles },
      latency,
      speedup,
      notes,
      ...(job.calibration && activations
        ? {
            calibration: {
              dataSha256: job.calibration.dataSha256,
              method: activations.method,
              inputs: job.calibration.inputStats,
              activations: activations.activations,
            },
          }
        : {}),
      ...(ctx.provenance ? { provenance: ctx.provenance } : {}),
      createdAt: new Date().toISOString(),
    };
    const stored = await staging.commit(record);
    if (ctx.hostCache) {
      const put = await ctx.hostCache.put(job.key, stored.dir);
      if (put.status === 'too-large')
        ctx.progress.warn(`${job.model.name}/${job.key.slice(0, 12)} is larger than the host cache`);
    }
    if (ctx.remoteStore) {
      // The engine is built and stored; a registry that is down costs other runners a rebuild, not this build.
      await ctx.remoteStore.push(stored).then(
        () => ctx.progress.phase('cache', `pushed ${job.key.slice(0, 12)} to ${ctx.remoteStore!.where}`),
        (error: unknown) =>
          ctx.progress.warn(
            `remote store push of ${job.key.slice(0, 12)} failed: ${(error as Error).message}`,
          ),
      );
    }
    return {
      ...base,
      cache: 'miss',
      enginePath: stored.enginePath,
      golden: golden.result,
      latency,
      speedup,
      phases,
    };
  } finally {
    await staging.discard();
  }
}

/** What the golden verdict of `job` depends on besides its engine (hashed into `specSha256`). */
export function goldenSpec(job: EngineJob) {
  return {
    inputsDir: job.model.golden.inputs,
    samples: job.model.golden.samples,
    seed: job.model.golden.seed,
    tolerance: job.model.golden.tolerance,
    precision: job.precision,
  };
}

/**
 * Whether the local store already holds `job`'s engine with a golden verdict for the current golden
 * spec: then neither golden inputs nor a compile are needed.
 */
export async function isVerifiedHit(job: EngineJob, store: LocalStore): Promise<boolean> {
  const found = await store.lookup(job.model.name, job.key);
  return (
    found.status === 'hit' &&
    found.artifact.record.golden.specSha256 === (await goldenSpecSha256(goldenSpec(job)))
  );
}

/**
 * The local store first; on a miss, the host cache (sha256-verified as it is copied in, placed by
 * rename), then the remote store (every file sha256-verified), each time the store again so the
 * usual verification applies to what came in.
 */
async function lookupWithHostCache(job: EngineJob, ctx: BuildEngineContext) {
  const found = await lookupHost(job, ctx);
  // A pull writes into the store as well: a read-only store goes on to stage's refusal.
  if (found.status !== 'miss' || !ctx.remoteStore || ctx.store.readOnly) return found;
  const pulled = await ctx.remoteStore.pull(ctx.store, job.model.name, job.key).catch((error: unknown) => ({
    status: 'refused' as const,
    reason: `unreachable: ${(error as Error).message}`,
  }));
  if (pulled.status === 'refused')
    ctx.progress.warn(`remote store entry refused (${pulled.reason}); rebuilding`);
  if (pulled.status !== 'hit') return found;
  ctx.progress.phase(
    'cache',
    `pulled ${job.key.slice(0, 12)} from ${ctx.remoteStore.where}, every file sha256-verified`,
  );
  return ctx.store.lookup(job.model.name, job.key);
}

async function lookupHost(job: EngineJob, ctx: BuildEngineContext) {
  const found = await ctx.store.lookup(job.model.name, job.key);
  // Restoring from the host cache writes into the store: a read-only store goes on to stage's refusal.
  if (found.status !== 'miss' || !ctx.hostCache || ctx.store.readOnly) return found;
  const dir = ctx.store.artifactDir(job.model.name, job.key);
  await mkdir(path.dirname(dir), { recursive: true });
  const cached = await ctx.hostCache.get(job.key, dir);
  if (cached.status === 'corrupt')
    ctx.progress.warn(`host cache entry ${job.key.slice(0, 12)} refused (${cached.reason})`);
  if (cached.status !== 'hit') return found;
  ctx.progress.phase('cache', `restored ${job.key.slice(0, 12)} from the host cache`);
  return ctx.store.lookup(job.model.name, job.key);
}

function stripGolden(golden: ArtifactRecord['golden']): EngineResult['golden'] {
  const { specSha256: _spec, samplesFiles: _files, ...result } = golden;
  return result;
}

/** The first golden sample whose shapes are the bench shapes (for ranges: the opt sample). */
function pickBenchInputs(samples: Array<Record<string, HostTensor>>, shapes: Record<string, number[]>) {
  return (
    samples.find((s) =>
      Object.entries(shapes).every(([name, shape]) => s[name]?.shape.join('x') === shape.join('x')),
    ) ?? samples[0]!
  );
}

/** `: TensorRT GPU compute time (…) vs ONNX Runtime CPU wall time per session.run` when the sides differ. */
function basisText(engine: string | undefined, reference: string | undefined): string {
  return engine !== undefined && reference !== undefined && engine !== reference
    ? `: ${engine} vs ${reference}`
    : '';
}
