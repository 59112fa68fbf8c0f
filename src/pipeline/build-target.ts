import type { KilnConfig } from '../core/io/config-load.js';
import type { TargetConfig } from '../core/config-schema.js';
import type { BuildResults, EngineResult } from '../core/results.js';
import { compareInt8WithFp32, int8SpeedProblem, int8SpeedVerdict } from '../core/int8-speed.js';
import { KILN_VERSION } from '../core/io/version.js';
import type { Backend } from '../backends/backend.js';
import type { HostCache } from '../store/host-cache.js';
import { LocalStore, type StoreFs } from '../store/local-store.js';
import type { RemoteEngineStore } from '../store/remote-engine-store.js';
import type { Provenance } from '../store/release/provenance.js';
import { buildEngine, isVerifiedHit } from './build-engine.js';
import type { Clock } from './clock.js';
import { planEngineJobs, type SkippedEngine } from './engine-jobs.js';
import type { Progress } from './progress.js';

export interface BuildTargetOptions {
  config: KilnConfig;
  target: TargetConfig;
  backend: Backend;
  /** Model names to build; all when empty. */
  models: string[];
  /** Store folder override (runner-wide caches); else the config's. */
  storeDir?: string;
  /** The store's writes (tests stand in for a read-only filesystem with it). */
  storeFs?: StoreFs;
  progress: Progress;
  clock?: Clock;
  hostCache?: HostCache;
  /** The remote engine store (`--remote-store`): consulted after the host cache, filled after a build. */
  remoteStore?: RemoteEngineStore;
  provenance?: Provenance;
}

/** Build results plus engines the backend cannot produce here. */
export type TargetBuild = BuildResults & { skipped: SkippedEngine[] };

/**
 * Builds every selected model × profile × precision for one target under the store lock. Golden
 * failures do not stop the loop: the report must show every engine, and the caller turns a failed
 * gate into exit code 1.
 */
export async function buildTarget(options: BuildTargetOptions): Promise<TargetBuild> {
  const { config, target, backend, progress } = options;
  const startedAt = new Date().toISOString();
  const models =
    options.models.length === 0
      ? config.models
      : config.models.filter((m) => options.models.includes(m.name));
  const store = new LocalStore(options.storeDir ?? config.storeDir, options.storeFs);
  const { jobs, skipped } = await planEngineJobs(config, models, backend);
  // A read-only store is served without its lock (artifacts appear by rename, and every hit is
  // re-hashed): only what it would have to write is refused, by the store itself.
  const mode = await store.open();
  // Golden inputs are read or drawn only for engines that need a golden run, but for all of those
  // before the first compile: a bad .npy in the last profile must not surface after minutes of work.
  for (const job of jobs) if (!(await isVerifiedHit(job, store))) await job.golden();
  const lock = mode === 'writable' ? await store.lock(`kiln build --target ${target.name}`) : undefined;
  const engines: EngineResult[] = [];
  try {
    if (lock) await store.sweepStaging();
    const hardware = await backend.hardwareFingerprint();
    progress.info(
      `target ${target.name}: ${backend.name} ${await backend.version()} on ${describeHardware(hardware)}; store ${store.dir}${mode === 'read-only' ? ' (read-only: cache hits only)' : ''}`,
    );
    for (const s of skipped) progress.warn(`${s.model}/${s.profile}/${s.precision} skipped: ${s.reason}`);
    for (const [i, job] of jobs.entries()) {
      progress.engine(i + 1, jobs.length, `${job.model.name} / ${job.profile.name} / ${job.precision}`);
      engines.push(
        await buildEngine(job, {
          backend,
          store,
          target: target.name,
          bench: config.bench,
          goldenGateFails: config.gates.golden === 'fail',
          progress,
          ...(options.clock ? { clock: options.clock } : {}),
          ...(options.hostCache ? { hostCache: options.hostCache } : {}),
          ...(options.remoteStore ? { remoteStore: options.remoteStore } : {}),
          ...(options.provenance ? { provenance: options.provenance } : {}),
        }),
      );
    }
    const compared = compareInt8WithFp32(engines);
    for (const e of compared) {
      const problem = int8SpeedProblem(e);
      if (problem) progress.warn(`${e.model}/${e.profile}/int8: ${problem}`);
    }
    const failed = engines.filter((e) => !e.golden.pass).length;
    const hits = engines.filter((e) => e.cache === 'hit').length;
    progress.info(
      `${engines.length} engines: ${hits} cache hits, ${engines.length - hits} built, ${failed} failed golden`,
    );
    return {
      schema: 'kiln.build-results/v1',
      kilnVersion: KILN_VERSION,
      target: target.name,
      backend: backend.name,
      hardware,
      startedAt,
      finishedAt: new Date().toISOString(),
      engines: compared,
      gates: {
        golden: failed === 0 ? 'pass' : config.gates.golden === 'fail' ? 'fail' : 'warn',
        ...(compared.some((e) => e.precision === 'int8')
          ? { int8Speed: int8SpeedVerdict(compared, config.gates.int8SlowerThanFp32) }
          : {}),
      },
      skipped,
    };
  } finally {
    await lock?.release();
  }
}

function describeHardware(hardware: Record<string, unknown>): string {
  return Object.entries(hardware)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') || '-' : String(v)}`)
    .join(' ');
}
