import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { HostCache } from '../store/host-cache.js';
import type { LocalStore, LookupResult } from '../store/local-store.js';
import type { RemoteEngineStore } from '../store/remote-engine-store.js';
import type { EngineJob } from './engine-jobs.js';
import { goldenSpec } from './engine-golden-check.js';
import { goldenSpecSha256 } from './golden-record.js';
import type { Progress } from './progress.js';

/** Where a build looks for an engine before compiling one. */
export interface EngineSources {
  store: LocalStore;
  progress: Progress;
  /** Engines shared by the jobs on this host (`--host-cache`): consulted on a miss, filled after a build. */
  hostCache?: HostCache;
  /** Engines shared through a registry (`--remote-store`): consulted after the host cache, filled after a build. */
  remoteStore?: RemoteEngineStore;
}

/**
 * The local store first; on a miss, the host cache (sha256-verified as it is copied in, placed by
 * rename), then the remote store (every file sha256-verified), each time the store again so the
 * usual verification applies to what came in.
 */
export async function lookupEngine(job: EngineJob, sources: EngineSources): Promise<LookupResult> {
  const found = await lookupHost(job, sources);
  // A pull writes into the store as well: a read-only store goes on to stage's refusal.
  if (found.status !== 'miss' || !sources.remoteStore || sources.store.readOnly) return found;
  const pulled = await sources.remoteStore
    .pull(sources.store, job.model.name, job.key)
    .catch((error: unknown) => ({
      status: 'refused' as const,
      reason: `unreachable: ${(error as Error).message}`,
    }));
  if (pulled.status === 'refused')
    sources.progress.warn(`remote store entry refused (${pulled.reason}); rebuilding`);
  if (pulled.status !== 'hit') return found;
  sources.progress.phase(
    'cache',
    `pulled ${job.key.slice(0, 12)} from ${sources.remoteStore.where}, every file sha256-verified`,
  );
  return sources.store.lookup(job.model.name, job.key);
}

async function lookupHost(job: EngineJob, sources: EngineSources): Promise<LookupResult> {
  const { store, hostCache, progress } = sources;
  const found = await store.lookup(job.model.name, job.key);
  // Restoring from the host cache writes into the store: a read-only store goes on to stage's refusal.
  if (found.status !== 'miss' || !hostCache || store.readOnly) return found;
  const dir = store.artifactDir(job.model.name, job.key);
  await mkdir(path.dirname(dir), { recursive: true });
  const cached = await hostCache.get(job.key, dir);
  if (cached.status === 'corrupt')
    progress.warn(`host cache entry ${job.key.slice(0, 12)} refused (${cached.reason})`);
  if (cached.status !== 'hit') return found;
  progress.phase('cache', `restored ${job.key.slice(0, 12)} from the host cache`);
  return store.lookup(job.model.name, job.key);
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
