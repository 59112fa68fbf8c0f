/**
 * The gate verdict of a report: rows, counts, targets that produced nothing, the conclusion and
 * headline of the PR comment and check run, and one plain-text line per reason the gate failed.
 */
import { collectRows, countRows } from './pr-comment-rows.js';
import type { PrRow, RowCounts } from './pr-comment-rows.js';
import { changeText, goldenFailureText } from './pr-comment-tables.js';
import type { AbResults, BuildResults } from '../results.js';
import { int8SpeedProblem } from '../int8-speed.js';
import type { Int8SpeedGate } from '../int8-speed.js';

/** Everything the comment, the check run and the job summary say about the gate. */
export interface Verdict {
  rows: PrRow[];
  counts: RowCounts;
  /** Expected targets without any result file, in the order given. */
  missing: string[];
  /** Distinct targets expected or reported. */
  targets: number;
  conclusion: 'success' | 'failure' | 'neutral';
  /** Headline emoji and text; the text, without the `kiln: ` the headline puts before it, is the check run's title. */
  emoji: string;
  title: string;
  /** Plain text (no Markdown, no control characters), one line per reason the gate failed. */
  failures: string[];
}

/** `1 engine`, `3 engines`. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Control and bidi characters shown as U+FFFD: for the plain-text failure lines. */
function plain(text: string): string {
  return text.replace(/[\p{Cc}\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu, '\ufffd');
}

function variant(row: Pick<PrRow, 'model' | 'target' | 'profile' | 'precision'>): string {
  return `${row.model} ${row.target}/${row.profile}/${row.precision}`;
}

function presentTargets(builds: BuildResults[], ab: AbResults[]): Set<string> {
  const fromBuilds = builds.flatMap((r) => [r.target, ...r.engines.map((e) => e.target)]);
  const fromAb = ab.flatMap((r) => [r.target, ...r.comparisons.map((c) => c.target)]);
  return new Set([...fromBuilds, ...fromAb]);
}

/** Rows of int8 engines slower than fp32 or not compared with it, each with the line that says so. */
export function slowInt8Rows(rows: PrRow[]): { row: PrRow; problem: string }[] {
  return rows.flatMap((row) => {
    const problem = row.engine ? int8SpeedProblem(row.engine) : undefined;
    return problem === undefined ? [] : [{ row, problem }];
  });
}

function failureLines(rows: PrRow[], missing: string[], int8Gate: Int8SpeedGate): string[] {
  return [
    ...(int8Gate === 'fail'
      ? slowInt8Rows(rows).map(({ row, problem }) => `int8: ${variant(row)}: ${problem}`)
      : []),
    ...rows.filter((r) => r.golden === 'fail').map((r) => `golden: ${variant(r)}: ${goldenFailureText(r)}`),
    ...rows.flatMap(({ comparison: c, ...r }) =>
      r.latency === 'regression' && c !== undefined
        ? [`latency: ${variant(r)}: ${changeText(c)}, over the +${c.maxRegressionPct}% limit`]
        : [],
    ),
    ...missing.map((t) => `missing: target ${t} produced no results (job failed or was cancelled)`),
  ].map(plain);
}

/**
 * Judges all results against the gates: `failure` for a golden failure under `goldenGate: 'fail'`, a
 * latency regression, or an expected target that reported nothing; `neutral` when there is nothing
 * to judge; else `success`. Warn-mode golden failures and unstable comparisons never fail the gate.
 * An int8 engine slower than fp32 (or not compared) fails under `int8Gate: 'fail'`, else it is named.
 */
export function judge(
  builds: BuildResults[],
  ab: AbResults[],
  expectedTargets: string[],
  goldenGate: 'fail' | 'warn',
  int8Gate: Int8SpeedGate = 'warn',
): Verdict {
  const rows = collectRows(builds, ab, goldenGate);
  const counts = countRows(rows);
  const present = presentTargets(builds, ab);
  const missing = [...new Set(expectedTargets)].filter((t) => !present.has(t));
  const targets = new Set([...present, ...expectedTargets]).size;
  const slow = slowInt8Rows(rows).length;
  const failing = [
    counts.goldenFailures > 0 ? plural(counts.goldenFailures, 'golden failure') : '',
    counts.regressions > 0 ? plural(counts.regressions, 'latency regression') : '',
    missing.length > 0 ? plural(missing.length, 'missing target') : '',
    int8Gate === 'fail' && slow > 0 ? `${plural(slow, 'int8 engine')} not faster than fp32` : '',
  ].filter((part) => part !== '');
  const common = { rows, counts, missing, targets, failures: failureLines(rows, missing, int8Gate) };
  if (failing.length > 0) {
    const title = `${failing.join(', ')} across ${plural(targets, 'target')}`;
    return { ...common, conclusion: 'failure', emoji: '❌', title };
  }
  if (rows.length === 0)
    return { ...common, conclusion: 'neutral', emoji: '⚠️', title: 'no results to report' };
  const warned =
    (counts.goldenWarnings > 0 ? `, ${plural(counts.goldenWarnings, 'golden failure')} in warn mode` : '') +
    (slow > 0 ? `, ${plural(slow, 'int8 engine')} not faster than fp32` : '');
  const title = `${plural(rows.length, 'engine')} on ${plural(targets, 'target')} passed${warned}`;
  return { ...common, conclusion: 'success', emoji: warned === '' ? '✅' : '⚠️', title };
}
