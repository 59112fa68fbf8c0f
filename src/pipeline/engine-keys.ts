import type { KilnConfig } from '../core/io/config-load.js';
import { createBackend } from '../backends/registry.js';
import { planEngineJobs } from './engine-jobs.js';

/** One engine a build would produce: where it lives in the store, by target. */
export interface KeyEntry {
  target: string;
  model: string;
  profile: string;
  precision: string;
  key: string;
  /** `<model>/<key>`, relative to the store. */
  path: string;
}

/**
 * The artifact key of every engine `config` yields for the named targets on this host (their
 * backends fingerprint this host), without building: `kiln keys` and `kiln publish` share it.
 */
export async function keysFor(
  config: KilnConfig,
  targetNames: string[],
  wanted: string[],
): Promise<KeyEntry[]> {
  const models = wanted.length === 0 ? config.models : config.models.filter((m) => wanted.includes(m.name));
  const keys: KeyEntry[] = [];
  for (const target of config.targets.filter((t) => targetNames.includes(t.name))) {
    const backend = await createBackend(
      target.backend,
      `${config.configPath}: targets[${config.targets.indexOf(target)}].backend`,
      undefined,
      target.trt,
    );
    const { jobs } = await planEngineJobs(config, models, backend);
    for (const job of jobs) {
      keys.push({
        target: target.name,
        model: job.model.name,
        profile: job.profile.name,
        precision: job.precision,
        key: job.key,
        path: `${job.model.name}/${job.key}`,
      });
    }
  }
  return keys;
}
