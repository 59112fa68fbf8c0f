import * as cache from '@actions/cache';
import * as core from '@actions/core';

/** Where engines survive between jobs: @actions/cache in workflows, a folder or fake in tests. */
export interface EngineCache {
  /** True when the entry for `key` was restored into `dir`. */
  restore(dir: string, key: string): Promise<boolean>;
  save(dir: string, key: string): Promise<void>;
}

/** The cache key of one engine: kiln's artifact key already names everything it depends on. */
export function engineCacheKey(artifactKey: string): string {
  return `kiln-engine-v1-${artifactKey}`;
}

/**
 * @actions/cache, by exact artifact key (no restore-keys: a near miss is a different engine). A save
 * failure (quota, a concurrent job saving the same key) is a warning, never a failed job.
 */
export function actionsEngineCache(): EngineCache {
  return {
    async restore(dir, key) {
      try {
        return (await cache.restoreCache([dir], engineCacheKey(key))) !== undefined;
      } catch (error) {
        core.warning(`engine cache restore for ${key.slice(0, 12)} failed: ${(error as Error).message}`);
        return false;
      }
    },
    async save(dir, key) {
      try {
        await cache.saveCache([dir], engineCacheKey(key));
      } catch (error) {
        core.warning(
          `engine cache save for ${key.slice(0, 12)} failed (the build still counts): ${(error as Error).message}`,
        );
      }
    },
  };
}
