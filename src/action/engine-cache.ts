import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as cache from '@actions/cache';
import * as core from '@actions/core';

/** Where engines survive between jobs: @actions/cache in workflows, a folder or fake in tests. */
export interface EngineCache {
  /** True when the entry for `key` was restored into `dir`, an artifact folder `<store>/<model>/<key>`. */
  restore(dir: string, key: string): Promise<boolean>;
  save(dir: string, key: string): Promise<void>;
}

/** The cache key of one engine: kiln's artifact key already names everything it depends on. */
export function engineCacheKey(artifactKey: string): string {
  return `kiln-engine-v1-${artifactKey}`;
}

/** The part of @actions/cache kiln uses, so tests can point it at a loopback cache service. */
export interface CacheClient {
  isFeatureAvailable(): boolean;
  restoreCache(paths: string[], primaryKey: string): Promise<string | undefined>;
  saveCache(paths: string[], key: string): Promise<number>;
}

/**
 * Where @actions/cache should look for an artifact folder `<store>/<model>/<key>`: its store as the
 * root and `<model>/<key>` as the path. @actions/cache hashes the paths it is given into the entry's
 * version and writes tar entries relative to GITHUB_WORKSPACE, refusing `..`; an absolute path made
 * runners with different work folders (`/home/runner/work`, `/opt/actions/_work`) miss each other's
 * engines, and a store outside the workspace (RUNNER_TEMP) cannot be named relatively at all.
 */
export function cacheLocation(artifactDir: string): { root: string; path: string } {
  const dir = path.resolve(artifactDir);
  const root = path.dirname(path.dirname(dir));
  return { root, path: path.relative(root, dir).split(path.sep).join('/') };
}

/**
 * Runs one @actions/cache call with the store as its workspace (cwd and GITHUB_WORKSPACE, which it
 * reads on every call), restoring both after. The Action makes its cache calls one at a time, so
 * nothing else observes the switch.
 */
async function inStore<T>(root: string, call: () => Promise<T>): Promise<T> {
  const cwd = process.cwd();
  const workspace = process.env.GITHUB_WORKSPACE;
  await mkdir(root, { recursive: true });
  process.chdir(root);
  process.env.GITHUB_WORKSPACE = root;
  try {
    return await call();
  } finally {
    process.chdir(cwd);
    if (workspace === undefined) delete process.env.GITHUB_WORKSPACE;
    else process.env.GITHUB_WORKSPACE = workspace;
  }
}

/**
 * @actions/cache, by exact artifact key (no restore-keys: a near miss is a different engine). A save
 * failure (quota, a concurrent job saving the same key) is a warning, never a failed job. Without a
 * cache service (self-hosted runners, GHES without cache) it says so once and does nothing: asking
 * anyway costs ~10 s of retries per engine.
 */
export function actionsEngineCache(client: CacheClient = cache): EngineCache {
  let available: boolean | undefined;
  const usable = (): boolean => {
    if (available === undefined) {
      available = client.isFeatureAvailable();
      if (!available)
        core.warning(
          'engine cache: no GitHub cache service on this runner (ACTIONS_CACHE_URL/ACTIONS_RESULTS_URL unset); engines are neither restored nor saved',
        );
    }
    return available;
  };
  return {
    async restore(dir, key) {
      if (!usable()) return false;
      try {
        const where = cacheLocation(dir);
        const hit = await inStore(where.root, () => client.restoreCache([where.path], engineCacheKey(key)));
        return hit !== undefined;
      } catch (error) {
        core.warning(`engine cache restore for ${key.slice(0, 12)} failed: ${(error as Error).message}`);
        return false;
      }
    },
    async save(dir, key) {
      if (!usable()) return;
      try {
        const where = cacheLocation(dir);
        await inStore(where.root, () => client.saveCache([where.path], engineCacheKey(key)));
      } catch (error) {
        core.warning(
          `engine cache save for ${key.slice(0, 12)} failed (the build still counts): ${(error as Error).message}`,
        );
      }
    },
  };
}
