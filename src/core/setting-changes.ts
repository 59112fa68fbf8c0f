import { canonicalJson } from './canonical-json.js';
import type { RawConfig } from './config-schema.js';

/** The settings that judge results: the trusted side (the merge base) decides them, never the PR. */
export type JudgingSettings = Pick<RawConfig, 'gates' | 'bench'> & {
  models: Array<Pick<RawConfig['models'][number], 'name' | 'golden' | 'bench'>>;
};

/**
 * Every judging setting a pull request changes, one line each, as `key path: base → head`, e.g.
 * `gates.golden: fail → warn` or `models[det].golden.tolerance.atol: 0.001 → 1`. Sorted by key path.
 * Models added or removed are the plan's business, so only models on both sides are compared.
 */
export function settingChanges(base: JudgingSettings, head: JudgingSettings): string[] {
  const lines: string[] = [];
  diff('gates', base.gates, head.gates, lines);
  diff('bench', base.bench, head.bench, lines);
  for (const model of head.models) {
    const before = base.models.find((m) => m.name === model.name);
    if (!before) continue;
    diff(`models[${model.name}].golden`, before.golden, model.golden, lines);
    diff(`models[${model.name}].bench`, before.bench, model.bench, lines);
  }
  return lines.sort();
}

function diff(at: string, before: unknown, after: unknown, out: string[]): void {
  if (canonicalJson(before ?? null) === canonicalJson(after ?? null)) return;
  if (isRecord(before) && isRecord(after)) {
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      diff(`${at}.${key}`, before[key], after[key], out);
    }
    return;
  }
  out.push(`${at}: ${shown(before)} → ${shown(after)}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shown(value: unknown): string {
  if (value === undefined) return '(unset)';
  const text = typeof value === 'string' ? value : canonicalJson(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
