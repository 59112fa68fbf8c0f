import path from 'node:path';
import { buildMatrix } from '../../core/build-matrix.js';
import {
  allModels,
  changedModels,
  normalizeRepoPath,
  toRepoPath,
  type ChangePlan,
} from '../../core/changed-models.js';
import { loadConfig, parseConfig, type KilnConfig } from '../../core/config-load.js';
import { InputError, KilnError, firstLine } from '../../core/errors.js';
import type { CommandArgs } from '../command-spec.js';
import type { planOptions } from '../specs/plan.js';
import { writeJsonAtomic } from '../write-json.js';
import { openRepo } from '../git.js';

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

  const head = await loadConfig(values.config);
  let plan: ChangePlan;
  let source: string;
  if (values.all) {
    plan = allModels(head);
    source = '--all';
  } else {
    const git = await openRepo(head.configDir);
    const configFile = toRepoPath(git.root, head.configPath);
    let base: KilnConfig | null | undefined;
    let files: string[];
    const notes: string[] = [];
    if (values.base !== undefined) {
      const sha = await git.resolve(values.base);
      const mergeBase = await git.mergeBase(values.base, sha);
      files = changedList?.map((f) => toRepoFile(f, git.root)) ?? (await git.diffNames(values.base, sha));
      const text = await git.showFile(mergeBase, configFile);
      base = text === null ? null : parseBase(text, `${values.base}:${configFile}`, head.configDir, notes);
      source = `--base ${values.base} (merge base ${mergeBase.slice(0, 12)})`;
    } else {
      files = changedList!.map((f) => toRepoFile(f, git.root));
      source = '--changed';
    }
    plan = changedModels({
      repoRoot: git.root,
      head,
      ...(base === undefined ? {} : { base }),
      changedFiles: files,
    });
    plan.notes.unshift(...notes);
    source += `, ${files.length} changed file${files.length === 1 ? '' : 's'}`;
  }

  const matrix = buildMatrix(
    head,
    plan.changed.map((c) => c.model),
    values.config,
  );
  process.stderr.write(summary(plan, head, matrix.include.length, source));
  if (values.json) await writeJsonAtomic(values.json, matrix);
  else process.stdout.write(`${JSON.stringify(matrix)}\n`);
  return 0;
}

function summary(plan: ChangePlan, head: KilnConfig, jobs: number, source: string): string {
  const lines = [`kiln plan: ${plan.changed.length} of ${head.models.length} model(s) changed (${source})`];
  for (const change of plan.changed) lines.push(`  ${change.model}: ${change.reasons.join('; ')}`);
  for (const gone of plan.removed) lines.push(`  ${gone.model}: ${gone.reasons.join('; ')}`);
  for (const note of plan.notes) lines.push(`  note: ${note}`);
  lines.push(
    `  matrix: ${jobs} build job(s)${jobs > 0 ? ` = ${plan.changed.length} model(s) × ${head.targets.length} target(s)` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * The base config, parsed as if it sat where the head config does. One that no longer validates
 * (an older schema, a path since removed) cannot be compared entry by entry: it counts as unknown,
 * so a change to the config file rebuilds every model, and a note says why.
 */
function parseBase(
  text: string,
  display: string,
  configDir: string,
  notes: string[],
): KilnConfig | undefined {
  try {
    return parseConfig(text, display, configDir);
  } catch (error) {
    if (!(error instanceof KilnError)) throw error;
    notes.push(`base config does not validate, so its entries cannot be compared (${firstLine(error)})`);
    return undefined;
  }
}

/** A `--changed` path: repo-relative as git prints it, or absolute inside the repository. */
function toRepoFile(file: string, root: string): string {
  if (!path.isAbsolute(file)) return normalizeRepoPath(file);
  const rel = toRepoPath(root, file);
  if (rel.startsWith('../') || rel === '..') {
    throw new InputError(`--changed ${file}: outside the repository ${root}`);
  }
  return rel;
}
