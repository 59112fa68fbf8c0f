/**
 * The Markdown report of one or more build results (`kiln report FILE...`, and the body of the PR
 * comment and job summary), and the one-line plain-text summary of an engine for the terminal. Pure
 * and deterministic: models and rows are sorted, so the order of the files does not change the text
 * (short of two engines with the same model, target, profile, precision, backend and key).
 */
import { compareText, precisionRank } from '../ordering.js';
import { escapeCode, escapeMarkdown } from './markdown-escape.js';
import type { BuildResults, EngineResult, GoldenResult, TensorComparison } from '../results.js';

const DASH = '—';

/** Milliseconds with about three significant digits (`0.123`, `4.56`, `78.9`, `1234`); `—` if not finite. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return DASH;
  return Math.abs(ms) >= 100 ? Math.round(ms).toString() : ms.toPrecision(3);
}

/** A tensor difference, short: `0`, `0.34`, `12`, `2.1e-7`, `3.0e5`, `NaN`, `Inf`. */
export function formatDiff(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Inf' : '-Inf';
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 0.1 && magnitude < 1000) return Number(value.toPrecision(2)).toString();
  return value.toExponential(1).replace('e+', 'e');
}

/** Reference p50 over engine p50 as `1.53×` (`12.4×`, `150×`); `—` when there is no reference. */
export function formatSpeedup(speedup: number | undefined, times = '×'): string {
  if (speedup === undefined || !Number.isFinite(speedup) || speedup <= 0) return DASH;
  const digits = speedup >= 100 ? 0 : speedup >= 10 ? 1 : 2;
  return `${speedup.toFixed(digits)}${times}`;
}

function nonFinite(c: TensorComparison): number {
  return c.nanGot + c.nanRef + Math.abs(c.infGot - c.infRef);
}

function severity(c: TensorComparison): number {
  return nonFinite(c) > 0 || Number.isNaN(c.maxAbsDiff) ? Infinity : c.maxAbsDiff;
}

/**
 * The output that decides the golden verdict: among the failing outputs when the suite failed (all
 * outputs otherwise), the one with non-finite values or else the largest max abs diff; the first such
 * in output order on a tie. Undefined when the result lists no outputs.
 */
export function worstOutput(golden: GoldenResult): TensorComparison | undefined {
  const failing = golden.pass ? [] : golden.outputs.filter((c) => !c.pass);
  const candidates = failing.length > 0 ? failing : golden.outputs;
  return candidates.reduce<TensorComparison | undefined>(
    (worst, c) => (worst === undefined || severity(c) > severity(worst) ? c : worst),
    undefined,
  );
}

/** `max abs diff 2.1e-7` plus non-finite counts (`, 12 NaN`, `, 3 NaN in ref`, `, Inf 2 vs 0`). */
function diffDetail(c: TensorComparison, label: string): string {
  const notes = [
    c.nanGot > 0 ? `${c.nanGot} NaN` : '',
    c.nanRef > 0 ? `${c.nanRef} NaN in ref` : '',
    c.infGot !== c.infRef ? `Inf ${c.infGot} vs ${c.infRef}` : '',
  ].filter((note) => note !== '');
  return [`${label} ${formatDiff(c.maxAbsDiff)}`, ...notes].join(', ');
}

/** Strings read from a results file: control and bidi characters shown as U+FFFD, never obeyed. */
function plain(text: string): string {
  return text.replace(/[\p{Cc}\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu, '\ufffd');
}

function md(text: string): string {
  return escapeMarkdown(text) || DASH;
}

/** Failing first, then target, profile, precision (fp32, fp16, int8), backend and key. */
function compareEngines(a: EngineResult, b: EngineResult): number {
  return (
    Number(a.golden.pass) - Number(b.golden.pass) ||
    compareText(a.target, b.target) ||
    compareText(a.profile, b.profile) ||
    precisionRank(a.precision) - precisionRank(b.precision) ||
    compareText(a.precision, b.precision) ||
    compareText(a.backend, b.backend) ||
    compareText(a.key, b.key)
  );
}

function goldenCell(golden: GoldenResult): string {
  const verdict = golden.pass ? '✅ pass' : '❌ fail';
  const worst = worstOutput(golden);
  if (worst === undefined) return verdict;
  const name = escapeCode(worst.output) || DASH;
  return `${verdict}: ${escapeMarkdown(diffDetail(worst, 'max Δ'))} in ${name}`;
}

/**
 * What the speedup divides, e.g. `TensorRT GPU compute time (…) vs ONNX Runtime CPU wall time per
 * session.run`, or `both ONNX Runtime CPU wall time per session.run`; undefined for results that
 * predate the labels. A GPU compute time over a CPU wall time is not a like-for-like ratio: say so.
 */
export function speedupBasis(e: EngineResult): string | undefined {
  const engine = e.latency.engine.measures;
  const reference = e.latency.reference?.measures;
  if (engine === undefined || reference === undefined) return undefined;
  return engine === reference ? `both ${engine}` : `${engine} vs ${reference}`;
}

function engineRow(e: EngineResult): string {
  const { engine, reference } = e.latency;
  const cells = [
    md(e.target),
    md(e.profile),
    md(e.precision),
    goldenCell(e.golden),
    formatMs(engine.p50) + (engine.stable ? '' : ' ⚠️ unstable'),
    formatMs(engine.p99),
    Number.isInteger(engine.n) ? String(engine.n) : '?',
    formatSpeedup(e.speedup) + (reference !== undefined && !reference.stable ? ' ⚠️ ref unstable' : ''),
    md(e.cache),
  ];
  return `| ${cells.join(' | ')} |`;
}

function failureText(e: EngineResult): string {
  if (e.golden.failure !== undefined && e.golden.failure.trim() !== '') return e.golden.failure;
  const worst = worstOutput(e.golden);
  return worst === undefined
    ? 'golden check failed'
    : `${diffDetail(worst, 'max abs diff')} on ${worst.output}`;
}

const TABLE_HEAD = [
  '| target | profile | precision | golden (max abs Δ) | p50 ms | p99 ms | samples | speedup vs ref | cache |',
  '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |',
];

function modelSection(model: string, engines: EngineResult[]): string[] {
  const rows = [...engines].sort(compareEngines);
  const failures = rows
    .filter((e) => !e.golden.pass)
    .map((e) => `- ❌ ${md(e.target)} · ${md(e.profile)} · ${md(e.precision)}: ${md(failureText(e))}`);
  const bases = [...new Set(rows.map(speedupBasis).filter((b) => b !== undefined))].sort(compareText);
  const lines = [
    `### ${escapeMarkdown(model) || '(unnamed model)'}`,
    '',
    ...TABLE_HEAD,
    ...rows.map(engineRow),
    ...(bases.length > 0 ? ['', ...bases.map((b) => `Speedup vs ref measures ${md(b)}.`)] : []),
  ];
  return failures.length > 0 ? [...lines, '', ...failures] : lines;
}

function verdict(results: BuildResults[], engines: EngineResult[]): string {
  const failed = engines.filter((e) => !e.golden.pass).length;
  if (engines.length === 0) return '**kiln: no engines in these results**';
  if (failed === 0) {
    const all = ['the only engine', 'both engines'][engines.length - 1] ?? `all ${engines.length} engines`;
    return `**kiln: ${all} passed the golden gate**`;
  }
  const failingRuns = results.filter((r) => r.engines.some((e) => !e.golden.pass));
  const warnOnly = failingRuns.every((r) => r.gates.golden === 'warn');
  const noun = engines.length === 1 ? 'engine' : 'engines';
  const line = `**kiln: ${failed} of ${engines.length} ${noun} failed the golden gate**`;
  return warnOnly ? `${line} (warn mode: not blocking)` : line;
}

/**
 * Renders build results (one file per target run) as a Markdown report: a title, a one-sentence
 * verdict, then a section per model (sorted by name) with a table of its engines, failing rows first,
 * then by target, profile and precision, and a bullet per failing engine with its failure line. Every
 * string read from the results goes through {@link escapeMarkdown} or {@link escapeCode}. Ends with a
 * newline.
 */
export function renderBuildReport(results: BuildResults[]): string {
  const engines = results.flatMap((r) => r.engines);
  const byModel = new Map<string, EngineResult[]>();
  for (const e of engines) {
    const group = byModel.get(e.model);
    if (group === undefined) byModel.set(e.model, [e]);
    else group.push(e);
  }
  const models = [...byModel.keys()].sort(compareText);
  const sections = models.flatMap((model) => ['', ...modelSection(model, byModel.get(model) ?? [])]);
  return [`## kiln build report`, '', verdict(results, engines), ...sections].join('\n') + '\n';
}

/**
 * One line of plain text (no Markdown, no control characters) for an engine, for the terminal:
 * `FAIL ocr-det cpu/640x640/fp16: golden fail, max abs diff NaN, 12 NaN on boxes; p50 1.23 ms, p99
 * 2.34 ms (n=200); 1.53x vs reference; cache miss; latency unstable`.
 */
export function renderEngineSummaryLine(e: EngineResult): string {
  const worst = worstOutput(e.golden);
  const golden = `golden ${e.golden.pass ? 'pass' : 'fail'}`;
  const { engine, reference } = e.latency;
  const speedup = formatSpeedup(e.speedup, 'x');
  const parts = [
    worst === undefined ? golden : `${golden}, ${diffDetail(worst, 'max abs diff')} on ${worst.output}`,
    `p50 ${formatMs(engine.p50)} ms, p99 ${formatMs(engine.p99)} ms (n=${engine.n})`,
    speedup === DASH
      ? 'no reference'
      : `${speedup} vs reference${speedupBasis(e) ? ` (${speedupBasis(e)})` : ''}`,
    `cache ${e.cache}`,
  ];
  if (!engine.stable) parts.push('latency unstable');
  if (reference !== undefined && !reference.stable) parts.push('reference latency unstable');
  const head = `${e.golden.pass ? 'PASS' : 'FAIL'} ${e.model} ${e.target}/${e.profile}/${e.precision}`;
  return plain(`${head}: ${parts.join('; ')}`);
}
