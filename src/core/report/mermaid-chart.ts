/**
 * Mermaid `xychart-beta` bar charts of head latency per target (with the merge base as a line), one
 * chart per model with two bars or more, for the PR comment and job summary. Labels come from results files, so they are
 * reduced to a safe character set and always quoted: no quote, newline, semicolon, backtick, `%%`
 * comment, `#` entity or bracket can end a string or the code fence early.
 */
import type { PrRow } from './pr-comment-rows.js';
import { statisticOf, statValue } from './pr-comment-tables.js';
import type { LatencyStatistic } from '../results.js';

/** Most bars in one chart, and most charts (models) in one report. */
export const MAX_BARS = 24;
export const MAX_CHARTS = 10;

/** Anything outside letters, digits, space and `. _ - : / + = , ( )` becomes `_`. */
const UNSAFE = /[^\p{L}\p{N} ._\-:/+=,()]/gu;

/**
 * A quoted Mermaid string for untrusted text: unsafe characters replaced by `_`, whitespace collapsed,
 * cut to `max` code points (ending in `…`), `"?"` when nothing is left.
 */
export function mermaidLabel(text: string, max = 40): string {
  const safe = text.replace(/\s+/g, ' ').replace(UNSAFE, '_').trim();
  const chars = Array.from(safe);
  const cut = chars.length <= max ? safe : `${chars.slice(0, max - 1).join('')}…`;
  return `"${cut === '' ? '?' : cut}"`;
}

/** A finite number with at most four significant digits (`46.21`, `0.4123`, `1234`). */
function value(n: number): string {
  return Number(n.toPrecision(4)).toString();
}

/** One bar chart: `head` as bars and, when given, `base` as a line over the same categories. */
export interface BarChart {
  title: string;
  axis: string;
  labels: string[];
  head: number[];
  base?: number[];
}

/** The fenced ```` ```mermaid ```` block of `chart`; labels and title are sanitized here. */
export function renderBarChart(chart: BarChart): string[] {
  const top = Math.max(...chart.head, ...(chart.base ?? []), 0);
  return [
    '```mermaid',
    'xychart-beta',
    `  title ${mermaidLabel(chart.title, 80)}`,
    `  x-axis [${chart.labels.map((label) => mermaidLabel(label)).join(', ')}]`,
    `  y-axis ${mermaidLabel(chart.axis)} 0 --> ${value(top > 0 ? top * 1.1 : 1)}`,
    `  bar [${chart.head.map(value).join(', ')}]`,
    ...(chart.base === undefined ? [] : [`  line [${chart.base.map(value).join(', ')}]`]),
    '```',
  ];
}

interface Point {
  label: string;
  /** Head and base of each statistic this row can show, with their sample counts. */
  values: Partial<Record<LatencyStatistic, { head: number; base?: number }>>;
  n: number[];
}

function point(row: PrRow): Point | undefined {
  const label = `${row.target} ${row.profile} ${row.precision}`;
  const c = row.comparison;
  const values: Point['values'] = {};
  if (c !== undefined) {
    // A comparison shows what it compared, and p50, which every side has.
    for (const stat of new Set([statisticOf(c), 'p50' as const])) {
      const head = statValue(c.head, stat);
      const base = statValue(c.base, stat);
      if (head !== undefined) values[stat] = base === undefined ? { head } : { head, base };
    }
    const n = [c.base?.n, c.head.n].filter((x): x is number => typeof x === 'number');
    return Object.keys(values).length > 0 ? { label, values, n } : undefined;
  }
  const engine = row.engine?.latency.engine;
  if (engine === undefined) return undefined;
  for (const stat of STATISTICS) {
    const head = statValue(engine, stat);
    if (head !== undefined) values[stat] = { head };
  }
  return Object.keys(values).length > 0 ? { label, values, n: [engine.n] } : undefined;
}

const STATISTICS: readonly LatencyStatistic[] = ['p99', 'p90', 'p50'];

/** The statistic one chart draws: the highest every bar has (p50 always qualifies when compared). */
function chartStatistic(points: Point[]): LatencyStatistic | undefined {
  return STATISTICS.find((stat) => points.every((p) => p.values[stat] !== undefined));
}

/** `n=60` or `n=20–200`: the sample counts behind a chart's bars and line. */
function samplesText(points: Point[]): string {
  const all = points.flatMap((p) => p.n).filter((n) => Number.isInteger(n) && n >= 0);
  if (all.length === 0) return 'n=?';
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  return lo === hi ? `n=${lo}` : `n=${lo}–${hi}`;
}

/**
 * Charts of head latency per target, profile and precision, one per model (sorted by name), with the
 * merge base as a line when every bar of the chart has one. Each chart draws one statistic, named with
 * its sample counts in the title and axis: the highest percentile all of its bars have, so a chart
 * never draws p99 where the comparison fell back to p50. A model with fewer than two bars gets no
 * chart (a table row says it better). At most {@link MAX_CHARTS} charts of {@link MAX_BARS} bars;
 * titles say when bars were left out. Returns the lines of all charts, blank-line separated.
 */
export function latencyCharts(rows: PrRow[]): string[] {
  const byModel = new Map<string, Point[]>();
  for (const row of rows) {
    const p = point(row);
    if (p === undefined) continue;
    const list = byModel.get(row.model);
    if (list === undefined) byModel.set(row.model, [p]);
    else list.push(p);
  }
  const models = [...byModel.keys()].sort().filter((m) => (byModel.get(m) ?? []).length >= 2);
  const charts = models.slice(0, MAX_CHARTS).flatMap((model) => {
    const all = byModel.get(model) ?? [];
    const points = [...all]
      .sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0))
      .slice(0, MAX_BARS);
    const stat = chartStatistic(points);
    if (stat === undefined) return [];
    const shown = all.length > points.length ? ` (${points.length} of ${all.length})` : '';
    const withBase = points.every((p) => p.values[stat]?.base !== undefined);
    return [
      renderBarChart({
        title: `${Array.from(model).slice(0, 40).join('')}: ${stat} ms (${samplesText(points)}), bars head${withBase ? ', line base' : ''}${shown}`,
        axis: `${stat} ms`,
        labels: points.map((p) => p.label),
        head: points.map((p) => p.values[stat]?.head ?? 0),
        ...(withBase ? { base: points.map((p) => p.values[stat]?.base ?? 0) } : {}),
      }),
    ];
  });
  const lines = charts.flatMap((chart, i) => (i === 0 ? chart : ['', ...chart]));
  const more = models.length - Math.min(models.length, MAX_CHARTS);
  return more > 0 ? [...lines, '', `_Charts for ${more} more models left out._`] : lines;
}
