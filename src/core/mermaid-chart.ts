/**
 * Mermaid `xychart-beta` bar charts of head latency per target (with the merge base as a line), one
 * chart per model, for the PR comment and job summary. Labels come from results files, so they are
 * reduced to a safe character set and always quoted: no quote, newline, semicolon, backtick, `%%`
 * comment, `#` entity or bracket can end a string or the code fence early.
 */
import type { PrRow } from './pr-comment-rows.js';

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
  head: number;
  base?: number;
}

function point(row: PrRow): Point | undefined {
  const head = row.comparison?.head.p99 ?? row.engine?.latency.engine.p99;
  if (typeof head !== 'number' || !Number.isFinite(head) || head < 0) return undefined;
  const base = row.comparison?.base?.p99;
  const label = `${row.target} ${row.profile} ${row.precision}`;
  return typeof base === 'number' && Number.isFinite(base) && base >= 0
    ? { label, head, base }
    : { label, head };
}

/**
 * Charts of head p99 per target, profile and precision, one per model (sorted by name), with the merge-base p99 as a line when every bar of the chart has one. At most
 * {@link MAX_CHARTS} charts of {@link MAX_BARS} bars; titles say when bars were left out. Rows
 * without a finite head p99 are skipped. Returns the lines of all charts, blank-line separated.
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
  const models = [...byModel.keys()].sort();
  const charts = models.slice(0, MAX_CHARTS).map((model) => {
    const all = byModel.get(model) ?? [];
    const points = [...all]
      .sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0))
      .slice(0, MAX_BARS);
    const shown = all.length > points.length ? ` (${points.length} of ${all.length})` : '';
    const withBase = points.every((p) => p.base !== undefined);
    return renderBarChart({
      title: `${Array.from(model).slice(0, 40).join('')}: p99 ms, bars head${withBase ? ', line base' : ''}${shown}`,
      axis: 'p99 ms',
      labels: points.map((p) => p.label),
      head: points.map((p) => p.head),
      ...(withBase ? { base: points.map((p) => p.base ?? 0) } : {}),
    });
  });
  const lines = charts.flatMap((chart, i) => (i === 0 ? chart : ['', ...chart]));
  const more = models.length - charts.length;
  return more > 0 ? [...lines, '', `_Charts for ${more} more models left out._`] : lines;
}
