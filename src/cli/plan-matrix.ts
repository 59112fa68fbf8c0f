import path from 'node:path';
import { buildMatrix, type BuildMatrix } from '../core/build-matrix.js';
import {
  allModels,
  changedModels,
  normalizeRepoPath,
  toRepoPath,
  type ChangePlan,
} from '../core/changed-models.js';
import { loadConfig, parseConfig, type KilnConfig } from '../core/io/config-load.js';
import { InputError, KilnError, firstLine } from '../core/errors.js';
import { externalDataFiles } from './external-data-files.js';
import { openRepo } from './git.js';

/** What to plan: every model, or the change against `base`, or the given changed files. */
export type PlanScope = { all: true } | { base: string; changed?: string[] } | { changed: string[] };

/** The build matrix and the human summary `kiln plan` prints to stderr. */
export interface PlannedMatrix {
  matrix: BuildMatrix;
  summary: string;
}

/**
 * Which models a change touches and the build matrix for them. Shared by `kiln plan` and the
 * Action's in-process `plan` (which must not need the CLI installed): git, the config and paths
 * only; no model is ever opened, so nothing here loads ONNX Runtime.
 */
export async function planFromRepo(configPath: string, scope: PlanScope): Promise<PlannedMatrix> {
  const head = await loadConfig(configPath);
  let plan: ChangePlan;
  let source: string;
  if ('all' in scope) {
    plan = allModels(head);
    source = '--all';
  } else {
    const git = await openRepo(head.configDir);
    const configFile = toRepoPath(git.root, head.configPath);
    let base: KilnConfig | null | undefined;
    let files: string[];
    const notes: string[] = [];
    if ('base' in scope) {
      const sha = await git.resolve(scope.base);
      const mergeBase = await git.mergeBase(scope.base, sha);
      files = scope.changed?.map((f) => toRepoFile(f, git.root)) ?? (await git.diffNames(scope.base, sha));
      const text = await git.showFile(mergeBase, configFile);
      base = text === null ? null : parseBase(text, `${scope.base}:${configFile}`, head.configDir, notes);
      source = `--base ${scope.base} (merge base ${mergeBase.slice(0, 12)})`;
    } else {
      files = scope.changed.map((f) => toRepoFile(f, git.root));
      source = '--changed';
    }
    plan = changedModels({
      repoRoot: git.root,
      head,
      ...(base === undefined ? {} : { base }),
      changedFiles: files,
      externalData: await externalDataFiles(head, git.root, files),
    });
    plan.notes.unshift(...notes);
    source += `, ${files.length} changed file${files.length === 1 ? '' : 's'}`;
  }
  const matrix = buildMatrix(
    head,
    plan.changed.map((c) => c.model),
    configPath,
  );
  return { matrix, summary: summary(plan, head, matrix.include.length, source) };
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
