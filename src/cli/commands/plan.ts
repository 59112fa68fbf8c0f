import { InputError } from '../../core/errors.js';
import type { CommandArgs } from '../command-spec.js';
import { planFromRepo, type PlanScope } from '../plan-matrix.js';
import type { planOptions } from '../specs/plan.js';
import { writeJsonAtomic } from '../write-json.js';

export const planUsage =
  'kiln plan [--config kiln.yaml] (--base REF | --changed FILE... | --all) [--json FILE]';

/**
 * `kiln plan`: which models a change touches and the build matrix for them, `{"include": [...]}` on
 * stdout (or `--json FILE`) for a workflow's `fromJSON`. The human summary goes to stderr. Never
 * opens a model: only paths, the config and git history decide.
 */
export async function planCommand({ values, positionals }: CommandArgs<typeof planOptions>): Promise<number> {
  // `--changed a b c`: the files after the flag arrive as positionals.
  const changedList = values.changed ? [...values.changed, ...positionals] : undefined;
  if (!values.changed && positionals.length > 0) {
    throw new InputError(`kiln plan: unexpected argument '${positionals[0]}' (usage: ${planUsage})`);
  }
  if (values.all && (values.base !== undefined || changedList)) {
    throw new InputError(`kiln plan: --all builds every model; drop --base and --changed`);
  }
  if (!values.all && values.base === undefined && !changedList) {
    throw new InputError(
      `kiln plan: say what changed: --base REF, --changed FILE... or --all (usage: ${planUsage})`,
    );
  }
  if (values.base !== undefined && values.base.trim() === '') {
    throw new InputError(`--base '': expected a git revision (a branch, tag or sha)`);
  }

  const scope: PlanScope = values.all
    ? { all: true }
    : values.base !== undefined
      ? { base: values.base, ...(changedList ? { changed: changedList } : {}) }
      : { changed: changedList! };
  const { matrix, summary } = await planFromRepo(values.config, scope);
  process.stderr.write(summary);
  if (values.json) await writeJsonAtomic(values.json, matrix);
  else process.stdout.write(`${JSON.stringify(matrix)}\n`);
  return 0;
}
