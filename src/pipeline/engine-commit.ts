import { copyFile, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { sha256File } from '../core/io/file-hashing.js';
import type { GoldenResult } from '../core/results.js';
import { KILN_VERSION } from '../core/io/version.js';
import type { Backend } from '../backends/backend.js';
import type { CalibrationResult } from '../backends/int8/calibration.js';
import { describeEngineFiles, type ArtifactRecord, type GoldenSampleFiles } from '../store/artifact.js';
import type { Staging, StoredArtifact } from '../store/local-store.js';
import type { Provenance } from '../store/release/provenance.js';
import type { EngineBench } from './engine-bench.js';
import type { EngineJob } from './engine-jobs.js';
import type { EngineSources } from './engine-lookup.js';

/** What a golden run adds to artifact.json. */
export interface GoldenOutcome {
  result: GoldenResult;
  specSha256: string;
  samplesFiles: GoldenSampleFiles[];
}

/**
 * Stores a cached engine again with the verdict of its re-check. The verdict is recorded whatever it
 * is: a cached engine that failed its re-check must never be published, reused or verified on the
 * strength of its first, passing golden run.
 */
export async function commitRecheck(
  staging: Staging,
  previous: StoredArtifact,
  golden: GoldenOutcome,
  bench: EngineBench,
): Promise<StoredArtifact> {
  const { record } = previous;
  await copyFile(previous.enginePath, path.join(staging.dir, record.engine.file));
  for (const extra of record.engine.files ?? []) {
    await mkdir(path.dirname(path.join(staging.dir, extra.file)), { recursive: true });
    await copyFile(path.join(previous.dir, extra.file), path.join(staging.dir, extra.file));
  }
  return staging.commit({
    ...record,
    golden: {
      ...golden.result,
      specSha256: golden.specSha256,
      samplesFiles: golden.samplesFiles,
      recheckedAt: new Date().toISOString(),
    },
    latency: bench.latency,
    speedup: bench.speedup,
  });
}

/** An engine compiled into the staging folder by this build. */
export interface CompiledEngine {
  enginePath: string;
  notes: string[];
  calibration?: CalibrationResult;
  /** Extra files next to the engine (relative to the staging folder). */
  files: string[];
}

/** Writes artifact.json for an engine compiled here and moves the staging folder into the store. */
export async function commitBuilt(
  staging: Staging,
  job: EngineJob,
  compiled: CompiledEngine,
  golden: GoldenOutcome,
  bench: EngineBench,
  ctx: { backend: Backend; provenance?: Provenance },
): Promise<StoredArtifact> {
  const { enginePath, calibration } = compiled;
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
      ...(compiled.files.length > 0 ? { files: await describeEngineFiles(staging.dir, compiled.files) } : {}),
    },
    golden: { ...golden.result, specSha256: golden.specSha256, samplesFiles: golden.samplesFiles },
    latency: bench.latency,
    speedup: bench.speedup,
    notes: compiled.notes,
    ...(job.calibration && calibration
      ? {
          calibration: {
            dataSha256: job.calibration.dataSha256,
            method: calibration.method,
            inputs: job.calibration.inputStats,
            activations: calibration.activations,
          },
        }
      : {}),
    ...(ctx.provenance ? { provenance: ctx.provenance } : {}),
    createdAt: new Date().toISOString(),
  };
  return staging.commit(record);
}

/**
 * Offers a stored engine to the host cache and the remote store. The engine is built and stored
 * already: a full cache or a registry that is down costs other runners a rebuild, not this build.
 */
export async function shareEngine(stored: StoredArtifact, job: EngineJob, sources: EngineSources) {
  const { hostCache, remoteStore, progress } = sources;
  if (hostCache) {
    const put = await hostCache.put(job.key, stored.dir);
    if (put.status === 'too-large')
      progress.warn(`${job.model.name}/${job.key.slice(0, 12)} is larger than the host cache`);
  }
  if (remoteStore) {
    await remoteStore.push(stored).then(
      () => progress.phase('cache', `pushed ${job.key.slice(0, 12)} to ${remoteStore.where}`),
      (error: unknown) =>
        progress.warn(`remote store push of ${job.key.slice(0, 12)} failed: ${(error as Error).message}`),
    );
  }
}
