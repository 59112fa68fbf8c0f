/**
 * Table cells of the PR comment: golden verdict with the worst difference, latency base → head, the
 * change vs the merge base with its confidence interval, and the latency verdict. Every string read
 * from results goes through {@link escapeMarkdown} or {@link escapeCode}.
 */
import { escapeCode, escapeMarkdown } from './markdown-escape.js';
import type { PrRow } from './pr-comment-rows.js';
import { formatDiff, formatMs, worstOutput } from './report-markdown.js';
import type { LatencyComparison, LatencyStatistic, TensorComparison } from '../results.js';

const DASH = '—';

/** Longest failure text shown in a cell, in code points; longer text is cut and ends with `…`. */
const MAX_FAILURE_CHARS = 300;

/** Cuts `text` to `max` code points (never inside a surrogate pair), marking the cut with `…`. */
export function clip(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

function md(text: string): string {
  return escapeMarkdown(text) || DASH;
}

/** A ratio as a signed percentage change: 1.123 → `+12.3%`, 0.9 → `-10.0%`, 1 → `+0.0%`. */
export function formatChange(ratio: number): string {
  if (!Number.isFinite(ratio)) return DASH;
  const text = ((ratio - 1) * 100).toFixed(1);
  return text.startsWith('-') && text !== '-0.0' ? `${text}%` : `+${text.replace('-', '')}%`;
}

/** The comparison's metric, read defensively: anything but `p50` is `p99`. */
function metricOf(c: LatencyComparison): 'p50' | 'p99' {
  return c.metric === 'p50' ? 'p50' : 'p99';
}

/**
 * The percentile a comparison actually compared: its `statistic` (p99 falls back to p90 or p50 with
 * too few samples), or its metric in results that predate the field.
 */
export function statisticOf(c: LatencyComparison): LatencyStatistic {
  return c.statistic === 'p50' || c.statistic === 'p90' || c.statistic === 'p99' ? c.statistic : metricOf(c);
}

/** `side[stat]` when it is a finite, non-negative number. */
export function statValue(
  side: Partial<Record<LatencyStatistic, unknown>> | undefined,
  stat: LatencyStatistic,
) {
  const v = side?.[stat];
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** `+12.3% [+10.1%, +14.6%] p90`, or `—` when the comparison has no ratio (a new variant). */
export function changeText(c: LatencyComparison): string {
  if (c.ratio === undefined || !Number.isFinite(c.ratio)) return DASH;
  const ci = c.ci === undefined ? '' : ` [${formatChange(c.ci[0])}, ${formatChange(c.ci[1])}]`;
  return `${formatChange(c.ratio)}${ci} ${statisticOf(c)}`;
}

/** `max Δ 2.1e-7`, with non-finite counts (`, 12 NaN`, `, 3 NaN in ref`, `, Inf 2 vs 0`). */
export function diffText(c: TensorComparison): string {
  const notes = [
    c.nanGot > 0 ? `${c.nanGot} NaN` : '',
    c.nanRef > 0 ? `${c.nanRef} NaN in ref` : '',
    c.infGot !== c.infRef ? `Inf ${c.infGot} vs ${c.infRef}` : '',
  ].filter((note) => note !== '');
  return [`max Δ ${formatDiff(c.maxAbsDiff)}`, ...notes].join(', ');
}

/** The failure line of a failing golden check: its own text, or the worst output's difference. */
export function goldenFailureText(row: PrRow): string {
  const golden = row.engine?.golden;
  if (golden === undefined) return 'golden check failed';
  if (golden.failure !== undefined && golden.failure.trim() !== '')
    return clip(golden.failure, MAX_FAILURE_CHARS);
  const worst = worstOutput(golden);
  return worst === undefined ? 'golden check failed' : `${diffText(worst)} on ${worst.output}`;
}

function goldenCell(row: PrRow): string {
  const golden = row.engine?.golden;
  if (golden === undefined || row.golden === 'none') return DASH;
  if (row.golden === 'pass') {
    const worst = worstOutput(golden);
    return worst === undefined
      ? '✅ pass'
      : `✅ ${escapeMarkdown(diffText(worst))} in ${escapeCode(worst.output) || DASH}`;
  }
  const verdict = row.golden === 'warn' ? '⚠️ fail (warn only)' : '❌ fail';
  const failure = golden.failure !== undefined && golden.failure.trim() !== '';
  const worst = worstOutput(golden);
  if (failure || worst === undefined) return `${verdict}: ${md(goldenFailureText(row))}`;
  return `${verdict}: ${escapeMarkdown(diffText(worst))} in ${escapeCode(worst.output) || DASH}`;
}

function count(n: unknown): string {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? String(n) : '?';
}

/** `p90 0.764 → 0.858 (n=60/60)`: the statistic compared, both values and both sample counts. */
function latencyCell(row: PrRow, metric: 'p50' | 'p99'): string {
  const c = row.comparison;
  const ms = (v: number | undefined) => (v === undefined ? DASH : formatMs(v));
  if (c === undefined) {
    const engine = row.engine?.latency.engine;
    return engine === undefined ? DASH : `${metric} ${ms(statValue(engine, metric))} (n=${count(engine.n)})`;
  }
  const stat = statisticOf(c);
  const head = ms(statValue(c.head, stat));
  if (c.base === undefined) return `${stat} ${head} (n=${count(c.head.n)})`;
  return `${stat} ${ms(statValue(c.base, stat))} → ${head} (n=${count(c.base.n)}/${count(c.head.n)})`;
}

/** Head minus base of the compared statistic, in ms, signed: `+0.094 ms`, `-1.20 ms`. */
export function deltaText(c: LatencyComparison | undefined): string {
  if (c === undefined) return DASH;
  const stat = statisticOf(c);
  const base = statValue(c.base, stat);
  const head = statValue(c.head, stat);
  if (base === undefined || head === undefined) return DASH;
  const delta = head - base;
  return `${delta < 0 ? '-' : '+'}${formatMs(Math.abs(delta))} ms`;
}

function formatNumber(value: unknown): string {
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : '?';
}

/**
 * `: p99 gated as p90 (412 samples per side within 60 s budget; p99 needs 1000)` when the comparison
 * judged another statistic than its metric: a verdict never hides which percentile it rests on.
 */
function fallbackText(row: PrRow): string {
  const c = row.comparison;
  const note = c?.note;
  if (c?.statistic === undefined || c.statistic === c.metric || note === undefined || note.trim() === '')
    return '';
  return `: ${md(clip(note, MAX_FAILURE_CHARS))}`;
}

function verdictCell(row: PrRow): string {
  switch (row.latency) {
    case 'regression':
      return `🔺 regression (limit +${formatNumber(row.comparison?.maxRegressionPct)}%)${fallbackText(row)}`;
    case 'improvement':
      return `🟢 improvement${fallbackText(row)}`;
    case 'unchanged':
      return `➖ unchanged${fallbackText(row)}`;
    case 'new':
      return '🆕 new (no base)';
    case 'unstable': {
      const note = row.comparison?.note;
      const why = note === undefined || note.trim() === '' ? '' : `: ${md(clip(note, MAX_FAILURE_CHARS))}`;
      return `⚠️ unstable, not blamed on the model${why}`;
    }
    default:
      return 'not compared';
  }
}

/** The header and delimiter rows of the engine table, for the gate's confidence. */
export function tableHead(confidence: number): string[] {
  const ci = `${Number((confidence * 100).toFixed(1))}% CI`;
  return [
    `| model | target | profile | precision | golden (worst max abs Δ) | latency ms base → head (samples) | Δ ms | change vs base (${ci}) | latency |`,
    '| --- | --- | --- | --- | --- | ---: | ---: | ---: | --- |',
  ];
}

/** One table row (a single line, nine cells) for `row`; `metric` labels rows never compared. */
export function tableRow(row: PrRow, metric: 'p50' | 'p99'): string {
  const cells = [
    md(row.model),
    md(row.target),
    md(row.profile),
    md(row.precision),
    goldenCell(row),
    latencyCell(row, metric),
    deltaText(row.comparison),
    row.comparison === undefined ? DASH : changeText(row.comparison),
    verdictCell(row),
  ];
  return `| ${cells.join(' | ')} |`;
}
