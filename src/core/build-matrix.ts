import type { RawConfig } from './config-schema.js';
import { InputError } from './errors.js';

/** One build job: one model on one target (docs/action.md: one build job per target per model). */
export interface MatrixEntry {
  target: string;
  /** Always an array, so a workflow can pass it to `runs-on:` unchanged. */
  'runs-on': string[];
  model: string;
  backend: string;
}

/** The shape GitHub's `strategy.matrix` takes through `fromJSON`: only `include`, no extra axes. */
export interface BuildMatrix {
  include: MatrixEntry[];
}

/**
 * The build matrix for `models` (names) over every target of `config`: model-major in config order,
 * then targets in config order, whatever order `models` comes in. No models → `{ include: [] }`.
 * Every target's runner labels are checked even then, so a blank label fails the plan that adds it,
 * not a later one; `configFile` names the file in that one-line error.
 */
export function buildMatrix(
  config: Pick<RawConfig, 'models' | 'targets'>,
  models: Iterable<string>,
  configFile: string,
): BuildMatrix {
  const targets = config.targets.map((target, i) => ({
    target: target.name,
    'runs-on': runnerLabels(target['runs-on'], `${configFile}: targets[${i}].runs-on`),
    backend: target.backend,
  }));
  const wanted = new Set(models);
  const include: MatrixEntry[] = [];
  for (const model of config.models) {
    if (!wanted.has(model.name)) continue;
    for (const t of targets)
      include.push({ target: t.target, 'runs-on': [...t['runs-on']], model: model.name, backend: t.backend });
  }
  return { include };
}

/**
 * A target's `runs-on` as an array of labels. GitHub would queue a job with a blank label forever
 * (no runner has it), and one with surrounding spaces never matches, so both are refused here.
 */
export function runnerLabels(runsOn: string | readonly string[], where: string): string[] {
  const labels = typeof runsOn === 'string' ? [runsOn] : [...runsOn];
  if (labels.length === 0 || labels.some((l) => l.trim() === '' || l.trim() !== l)) {
    throw new InputError(
      `${where}: found ${JSON.stringify(runsOn)}, expected one or more runner labels, none blank or with surrounding spaces`,
    );
  }
  return labels;
}
