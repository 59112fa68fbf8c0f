import path from 'node:path';
import { canonicalJson } from './canonical-json.js';
import type { KilnConfig } from './io/config-load.js';
import type { ModelConfig } from './config-schema.js';

/**
 * Which models a change touches and why (`kiln plan`). Pure: the caller supplies both configs and
 * the changed files; nothing here reads the disk or runs git, and no model file is ever parsed.
 */

export interface ChangeInput {
  /** Absolute repository root; `changedFiles` are relative to it. */
  repoRoot: string;
  /** The config as it is now (absolute paths, as loadConfig returns it). */
  head: KilnConfig;
  /**
   * The config at the merge base: null when the config file did not exist there; undefined when no
   * base is known (plain `--changed`), in which case a change to the config file itself rebuilds all.
   */
  base?: KilnConfig | null;
  /** Changed files, repo-relative POSIX paths (as `git diff --name-only` prints them). */
  changedFiles: readonly string[];
  /**
   * Per model name, the repo paths of its external-data files (read by the caller from the head
   * model), or why they could not be read; a model absent here has no changed file in its folder.
   */
  externalData?: ReadonlyMap<string, { files: string[] } | { unreadable: string }>;
}

export interface ModelChange {
  model: string;
  /** Short, human reasons, e.g. `model file models/det.onnx changed`. */
  reasons: string[];
}

export interface ChangePlan {
  /** Models to build, in config order. */
  changed: ModelChange[];
  /** Models in the base config that the head config no longer has: reported, never built. */
  removed: ModelChange[];
  /** Config changes that rebuild nothing, said so the summary explains the silence. */
  notes: string[];
}

/** Every model, for `--all` (release builds). */
export function allModels(head: KilnConfig, why = 'every model is built (--all)'): ChangePlan {
  return { changed: head.models.map((m) => ({ model: m.name, reasons: [why] })), removed: [], notes: [] };
}

/** The models that `input.changedFiles` and the config difference touch, with the reasons. */
export function changedModels(input: ChangeInput): ChangePlan {
  const { head, base, repoRoot } = input;
  const files = [...new Set(input.changedFiles.map(normalizeRepoPath).filter((f) => f !== ''))];
  const rel = (absolute: string) => toRepoPath(repoRoot, absolute);
  const configFile = rel(head.configPath);
  const configChanged = files.includes(configFile);
  const notes: string[] = [];

  // Settings every engine depends on: targets added or edited (what hardware, which backend) and bench
  // (the latency figures). A removed target, the gates and the store only change what is built less,
  // how results are judged or where engines are kept: notes, not rebuilds.
  const global: string[] = [];
  if (base === null) {
    global.push(`config ${configFile} is new`);
  } else if (base === undefined) {
    if (configChanged) global.push(`config ${configFile} changed (no base to compare its entries with)`);
  } else {
    const targets = diffTargets(base, head, notes);
    if (targets) global.push(`targets changed (${targets})`);
    if (canonicalJson(base.bench) !== canonicalJson(head.bench)) {
      global.push(`bench settings changed (${changedKeys(base.bench, head.bench).join(', ')})`);
    }
    if (canonicalJson(base.gates) !== canonicalJson(head.gates)) {
      notes.push('gates changed: they apply when results are reported, so nothing is rebuilt for them');
    }
    if (rel(base.storeDir) !== rel(head.storeDir)) {
      notes.push('store changed: engines are found by key, so nothing is rebuilt for it');
    }
  }

  const changed: ModelChange[] = [];
  for (const model of head.models) {
    const reasons = [...global];
    const previous = base?.models.find((m) => m.name === model.name);
    if (base && !previous) reasons.push(`new model in ${configFile}`);
    if (base && previous) {
      const keys = changedKeys(comparableEntry(previous, base, rel), comparableEntry(model, head, rel));
      if (keys.length > 0) reasons.push(`config entry changed (${keys.join(', ')})`);
    }
    const modelPath = rel(model.path);
    if (files.includes(modelPath)) reasons.push(`model file ${modelPath} changed`);
    const external = input.externalData?.get(model.name);
    if (external && 'unreadable' in external) {
      // Whether its weights changed cannot be told: build it (the build will say what is wrong).
      if (!files.includes(modelPath))
        reasons.push(`model file ${modelPath} unreadable (${external.unreadable})`);
    } else if (external) {
      const hit = external.files.find((f) => files.includes(f));
      if (hit) reasons.push(`external data ${hit} changed`);
    }
    if (model.manifest) {
      const manifest = rel(model.manifest);
      if (files.includes(manifest)) reasons.push(`manifest ${manifest} changed`);
    }
    if (model.calibration) {
      const hit = filesUnder(files, rel(model.calibration.data));
      if (hit) reasons.push(`calibration data ${hit} changed`);
    }
    if (model.golden.inputs) {
      const hit = filesUnder(files, rel(model.golden.inputs));
      if (hit) reasons.push(`golden inputs ${hit} changed`);
    }
    if (reasons.length > 0) changed.push({ model: model.name, reasons });
  }

  const removed = (base?.models ?? [])
    .filter((m) => !head.models.some((h) => h.name === m.name))
    .map((m) => ({ model: m.name, reasons: [`removed from ${configFile}: not built`] }));
  return { changed, removed, notes };
}

/** A repo-relative POSIX path: `./a//b` → `a/b`, Windows separators accepted. */
export function normalizeRepoPath(file: string): string {
  const posix = path.posix.normalize(file.replace(/\\/g, '/'));
  const trimmed = posix.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  return trimmed === '.' ? '' : trimmed;
}

/** `absolute` relative to `repoRoot`, POSIX separators. */
export function toRepoPath(repoRoot: string, absolute: string): string {
  return normalizeRepoPath(path.relative(repoRoot, absolute).split(path.sep).join('/'));
}

/** `dir/` or `dir/ (3 files)` when a changed file is `dir` itself or below it; else undefined. */
function filesUnder(files: readonly string[], dir: string): string | undefined {
  const hits = files.filter((f) => f === dir || f.startsWith(`${dir}/`));
  if (hits.length === 0) return undefined;
  if (hits.length === 1 && hits[0] === dir) return dir;
  return `${dir}/ (${hits.length} file${hits.length === 1 ? '' : 's'})`;
}

/** A model entry with repo-relative paths, so base and head compare no matter where they were parsed. */
function comparableEntry(model: ModelConfig, config: KilnConfig, rel: (p: string) => string): unknown {
  const relOf = (p: string) => rel(path.resolve(config.configDir, p));
  return {
    ...model,
    path: relOf(model.path),
    manifest: model.manifest && relOf(model.manifest),
    calibration: model.calibration && { ...model.calibration, data: relOf(model.calibration.data) },
    golden: { ...model.golden, inputs: model.golden.inputs && relOf(model.golden.inputs) },
  };
}

/** Top-level keys whose canonical JSON differs between two objects, sorted. */
function changedKeys(before: unknown, after: unknown): string[] {
  const a = (before ?? {}) as Record<string, unknown>;
  const b = (after ?? {}) as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => canonicalJson(a[k] ?? null) !== canonicalJson(b[k] ?? null))
    .sort();
}

/**
 * What changed in the targets that needs engines built, e.g. `added l4; a10g changed`. A target
 * that was only removed or moved builds nothing new, so that part goes to `notes` instead.
 */
function diffTargets(base: KilnConfig, head: KilnConfig, notes: string[]): string | undefined {
  const byName = (list: KilnConfig['targets'], name: string) => list.find((t) => t.name === name);
  const added = head.targets.filter((t) => !byName(base.targets, t.name)).map((t) => t.name);
  const removed = base.targets.filter((t) => !byName(head.targets, t.name)).map((t) => t.name);
  const edited = head.targets
    .filter((t) => {
      const before = byName(base.targets, t.name);
      return before !== undefined && canonicalJson(before) !== canonicalJson(t);
    })
    .map((t) => t.name);
  if (removed.length > 0) {
    notes.push(
      `target${removed.length === 1 ? '' : 's'} ${removed.join(', ')} removed: nothing to build for that`,
    );
  }
  const parts: string[] = [];
  if (added.length > 0) parts.push(`added ${added.join(', ')}`);
  if (edited.length > 0) parts.push(`${edited.join(', ')} changed`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}
