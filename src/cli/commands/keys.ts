import { loadConfig } from '../../core/config-load.js';
import { createBackend } from '../../backends/registry.js';
import { planEngineJobs } from '../../pipeline/engine-jobs.js';
import { commonOptions, parseCommandArgs } from '../args.js';
import { writeJsonAtomic } from '../write-json.js';
import { pickTargets } from './targets.js';

export const keysUsage = 'kiln keys [--config kiln.yaml] [--target T] [--model M]... [--json FILE]';

/**
 * `kiln keys`: the artifact key of every engine a build would produce on this host, without
 * building. The Action restores exactly these from its cache before `kiln build` runs.
 */
export async function keysCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('keys', argv, {
    ...commonOptions,
    config: { type: 'string', short: 'c', default: 'kiln.yaml' },
    target: { type: 'string', short: 't' },
    model: { type: 'string', short: 'm', multiple: true },
    json: { type: 'string' },
  });
  const config = await loadConfig(values.config);
  const wanted = values.model ?? [];
  const models = wanted.length === 0 ? config.models : config.models.filter((m) => wanted.includes(m.name));
  const keys = [];
  for (const target of pickTargets(config, values.target, values.config)) {
    const backend = createBackend(
      target.backend,
      `${values.config}: targets[${config.targets.indexOf(target)}].backend`,
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
  if (values.json) await writeJsonAtomic(values.json, keys);
  else process.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
  return 0;
}
