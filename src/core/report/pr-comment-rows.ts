/**
 * The rows of the PR comment: build results (golden verdict, head latency) joined with the A/B
 * comparisons (head vs merge base) on model × target × profile × precision, classified for the gate
 * and sorted so that what blocks the merge comes first. Pure and deterministic.
 */
import { compareText, precisionRank } from '../ordering.js';
import type { AbResults, BuildResults, EngineResult, LatencyComparison, LatencyVerdict } from '../results.js';

/** Golden verdict of a row: `warn` is a failure under `gates.golden: warn`; `none` has no build result. */
export type GoldenStatus = 'pass' | 'fail' | 'warn' | 'none';

/** One engine variant: its build result and/or its base-vs-head comparison. */
export interface PrRow {
  model: string;
  target: string;
  profile: string;
  precision: string;
  engine?: EngineResult;
  comparison?: LatencyComparison;
  golden: GoldenStatus;
  /** The comparison's verdict; `none` when this variant was not compared with the merge base. */
  latency: LatencyVerdict | 'none';
}

/** True when the row fails the merge gate: a golden failure in `fail` mode or a latency regression. */
export function isBlocking(row: PrRow): boolean {
  return row.golden === 'fail' || row.latency === 'regression';
}

/** True when the row belongs in the table shown open: blocking, or a golden failure in warn mode. */
export function needsAttention(row: PrRow): boolean {
  return isBlocking(row) || row.golden === 'warn';
}

function bucket(row: PrRow): number {
  if (row.golden === 'fail') return 0;
  if (row.latency === 'regression') return 1;
  return row.golden === 'warn' ? 2 : 3;
}

function compareRows(a: PrRow, b: PrRow): number {
  return (
    bucket(a) - bucket(b) ||
    compareText(a.model, b.model) ||
    compareText(a.target, b.target) ||
    compareText(a.profile, b.profile) ||
    precisionRank(a.precision) - precisionRank(b.precision) ||
    compareText(a.precision, b.precision) ||
    compareText(a.engine?.backend ?? '', b.engine?.backend ?? '') ||
    compareText(a.engine?.key ?? '', b.engine?.key ?? '')
  );
}

function variantKey(v: { model: string; target: string; profile: string; precision: string }): string {
  return JSON.stringify([v.model, v.target, v.profile, v.precision]);
}

/**
 * Joins every engine of `builds` with the comparison of the same model, target, profile and precision
 * in `ab` (the first one not yet taken, so duplicates never merge two engines into one row); a
 * comparison with no engine gets a row of its own. A failing golden check is `fail` or `warn` by
 * `goldenGate`. Sorted: golden failures, latency regressions, warn-mode golden failures, then the
 * rest, each by model, target, profile, precision (fp32, fp16, int8), backend and key.
 */
export function collectRows(builds: BuildResults[], ab: AbResults[], goldenGate: 'fail' | 'warn'): PrRow[] {
  const pending = new Map<string, LatencyComparison[]>();
  for (const c of ab.flatMap((r) => r.comparisons)) {
    const list = pending.get(variantKey(c));
    if (list === undefined) pending.set(variantKey(c), [c]);
    else list.push(c);
  }
  const rows: PrRow[] = [];
  for (const engine of builds.flatMap((r) => r.engines)) {
    const comparison = pending.get(variantKey(engine))?.shift();
    const golden: GoldenStatus = engine.golden.pass ? 'pass' : goldenGate;
    const { model, target, profile, precision } = engine;
    const latency = comparison?.verdict ?? 'none';
    rows.push({ model, target, profile, precision, engine, comparison, golden, latency });
  }
  for (const comparison of [...pending.values()].flat()) {
    const { model, target, profile, precision } = comparison;
    rows.push({ model, target, profile, precision, comparison, golden: 'none', latency: comparison.verdict });
  }
  return rows.sort(compareRows);
}

/** Counts behind the headline and the notes. */
export interface RowCounts {
  rows: number;
  goldenFailures: number;
  goldenWarnings: number;
  regressions: number;
  unstable: number;
  improvements: number;
  fresh: number;
}

/** Counts rows by golden status and latency verdict. */
export function countRows(rows: PrRow[]): RowCounts {
  const count = (test: (row: PrRow) => boolean): number => rows.filter(test).length;
  return {
    rows: rows.length,
    goldenFailures: count((r) => r.golden === 'fail'),
    goldenWarnings: count((r) => r.golden === 'warn'),
    regressions: count((r) => r.latency === 'regression'),
    unstable: count((r) => r.latency === 'unstable'),
    improvements: count((r) => r.latency === 'improvement'),
    fresh: count((r) => r.latency === 'new'),
  };
}
