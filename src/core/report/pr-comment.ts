/**
 * The one sticky PR comment, the check run's title and summary, and the job summary of the `report`
 * command: a headline verdict, targets that produced nothing, the rows that block the merge (golden
 * failures, latency regressions) in an open table, passing rows in a collapsed `<details>` block and
 * collapsed Mermaid charts of head latency per target. Pure: the Action does the posting.
 */
import type { GatesConfig } from '../config-schema.js';
import { escapeMarkdown } from './markdown-escape.js';
import { latencyCharts } from './mermaid-chart.js';
import { needsAttention } from './pr-comment-rows.js';
import type { PrRow, RowCounts } from './pr-comment-rows.js';
import { clip, tableHead, tableRow } from './pr-comment-tables.js';
import { judge, plural, slowInt8Rows } from './pr-comment-verdict.js';
import type { Verdict } from './pr-comment-verdict.js';
import type { AbResults, BuildResults } from '../results.js';
import { fitMarkdown } from './truncate-markdown.js';
import type { MarkdownBlock } from './truncate-markdown.js';

/** GitHub's limit on an issue or pull-request comment body, in characters. */
export const GITHUB_COMMENT_LIMIT = 65536;
/** GitHub's limit on a check run's `output.summary`, in characters. */
export const CHECK_SUMMARY_LIMIT = 65535;
/** GitHub's limit on one step's `$GITHUB_STEP_SUMMARY`, in bytes. */
export const JOB_SUMMARY_LIMIT = 1024 * 1024;

/** What the `report` command collected: all result files, the gates and where the run is. */
export interface PrCommentInput {
  /** A one-line HTML comment (`<!-- kiln:report -->`) that finds the sticky comment; first line of the body. */
  marker: string;
  builds: BuildResults[];
  ab: AbResults[];
  /** Targets the plan fanned out to; one with no result file failed or was cancelled. */
  expectedTargets: string[];
  gates: GatesConfig;
  context: { headSha: string; baseRef: string; runUrl?: string; summaryUrl?: string };
  /** The plan found no model or `kiln.yaml` change that needs engines. */
  plannedNothing?: boolean;
}

/** The comment body, the check run's conclusion, title and summary, and one plain line per failure. */
export interface PrCommentOutput {
  body: string;
  conclusion: 'success' | 'failure' | 'neutral';
  title: string;
  summary: string;
  /** Plain text (no Markdown, no control characters), one line per reason the gate failed. */
  failures: string[];
}

interface Report {
  verdict: Verdict;
  blocks: MarkdownBlock[];
}

/** An http(s) URL safe to put in `[text](url)` unchanged, else undefined. */
function safeUrl(url: string | undefined): string | undefined {
  return url !== undefined && /^https?:\/\/[^\s<>()[\]"'`\\]+$/.test(url) ? url : undefined;
}

/** A sha as short code, linked to its commit when the run URL names the repository; else escaped text. */
function shaText(sha: string, repository: string | undefined): string {
  if (!/^[0-9a-f]{7,64}$/i.test(sha)) return escapeMarkdown(clip(sha, 64));
  const short = `\`${sha.slice(0, 12)}\``;
  return repository === undefined ? short : `[${short}](${repository}/commit/${sha})`;
}

function contextLine(context: PrCommentInput['context']): string {
  const run = safeUrl(context.runUrl);
  // https://github.com/<owner>/<repo>/actions/runs/<id> → the repository, for commit links.
  const repository =
    run === undefined ? undefined : /^(https?:\/\/.+?\/[^/]+\/[^/]+)\/actions\/runs\//.exec(run)?.[1];
  const sha = shaText(context.headSha, repository);
  const base = shaText(context.baseRef, repository);
  const link = run === undefined ? '' : ` · [workflow run](${run})`;
  return `Head ${sha || '—'} vs merge base ${base || '—'}${link}`;
}

function notes(v: Verdict, gates: GatesConfig): string[] {
  const { latency } = gates;
  const { goldenWarnings, unstable } = v.counts;
  const ci = `${Number((latency.confidence * 100).toFixed(1))}% confidence interval`;
  return [
    ...v.missing.map(
      (t) => `- ❌ target ${escapeMarkdown(t) || '—'} produced no results (job failed or was cancelled)`,
    ),
    ...slowInt8Rows(v.rows).map(
      ({ row, problem }) =>
        `- ${gates.int8SlowerThanFp32 === 'fail' ? '❌' : '⚠️'} ${escapeMarkdown(problem)}: ` +
        `${escapeMarkdown(`${row.model} ${row.target}/${row.profile}`)}` +
        (row.engine?.int8SpeedupDetail ? ` (${escapeMarkdown(row.engine.int8SpeedupDetail)})` : '') +
        ` (\`gates.int8SlowerThanFp32: ${gates.int8SlowerThanFp32}\`).`,
    ),
    ...(goldenWarnings > 0
      ? [
          `- ⚠️ ${plural(goldenWarnings, 'golden failure')} in warn mode (\`gates.golden: warn\`): not blocking.`,
        ]
      : []),
    ...(unstable > 0
      ? [
          `- ⚠️ ${plural(unstable, 'latency comparison')} unstable: base and head measurements were too noisy ` +
            'to compare. Not blamed on the model; unstable never fails the gate.',
        ]
      : []),
    ...measuredAs(v),
    ...(v.rows.length > 0
      ? [
          `- Latency gate (catches ${latency.metric} slowdowns of ${latency.maxRegressionPct}% or more): a regression ` +
            `is a slowdown whose ${ci} lies above 0% and whose estimate is at least +${latency.maxRegressionPct / 2}%.`,
        ]
      : []),
  ];
}

/** `- Latency measured as TensorRT GPU compute time (…), base and head alike.`, once per distinct basis. */
function measuredAs(v: Verdict): string[] {
  const bases = new Set<string>();
  for (const r of v.rows) {
    const m = r.comparison?.measures;
    if (typeof m === 'string' && m.trim() !== '') bases.add(m);
  }
  return [...bases]
    .sort()
    .map((m) => `- Latency measured as ${escapeMarkdown(clip(m, 200))}, base and head alike.`);
}

function passingSummary(passing: number, counts: RowCounts): string {
  const extras = [
    counts.improvements > 0 ? plural(counts.improvements, 'improvement') : '',
    counts.unstable > 0 ? `${counts.unstable} unstable` : '',
    counts.fresh > 0 ? `${counts.fresh} new` : '',
  ].filter((part) => part !== '');
  return `${plural(passing, 'passing engine')}${extras.length > 0 ? ` (${extras.join(', ')})` : ''}`;
}

function analyze(input: PrCommentInput): Report {
  const heading = (emoji: string, title: string, lines: string[] = []): MarkdownBlock => ({
    head: [`### ${emoji} kiln: ${title}`, '', ...lines, contextLine(input.context)],
  });
  const { metric, confidence } = input.gates.latency;
  const v = judge(
    input.builds,
    input.ab,
    input.expectedTargets,
    input.gates.golden,
    input.gates.int8SlowerThanFp32,
  );
  if (input.plannedNothing === true && input.builds.length === 0 && input.ab.length === 0) {
    const title = 'nothing to build';
    const why =
      'No model or `kiln.yaml` change in this pull request needs engines: nothing was built or compared.';
    const verdict: Verdict = { ...v, conclusion: 'neutral', emoji: '⏭️', title, missing: [], failures: [] };
    return { verdict, blocks: [heading(verdict.emoji, title, [why, ''])] };
  }
  const attention = v.rows.filter(needsAttention);
  const passing = v.rows.filter((r) => !needsAttention(r));
  const table = (rows: PrRow[]): Pick<MarkdownBlock, 'items'> => ({
    items: rows.map((r) => tableRow(r, metric)),
  });
  const charts = latencyCharts(v.rows);
  const blocks: MarkdownBlock[] = [
    heading(v.emoji, v.title),
    {
      head: [],
      items: notes(v, input.gates),
      more: (n) => `- ${plural(n, 'more note')} left out to fit.`,
    },
  ];
  if (attention.length > 0) {
    const head = ['#### Golden failures and latency regressions', '', ...tableHead(confidence)];
    const more = (n: number): string => `_${plural(n, 'more row')} left out to fit; see the full report._`;
    blocks.push({ head, ...table(attention), more });
  }
  if (passing.length > 0) {
    const head = ['<details>', `<summary>${passingSummary(passing.length, v.counts)}</summary>`, ''];
    blocks.push({
      head: [...head, ...tableHead(confidence)],
      ...table(passing),
      tail: ['', '</details>'],
      drop: 1,
    });
  }
  if (charts.length > 0)
    blocks.push({
      head: [
        '<details>',
        '<summary>Latency charts: head per target (merge base as a line where compared)</summary>',
        '',
        ...charts,
      ],
      tail: ['', '</details>'],
      drop: 2,
    });
  return { verdict: v, blocks };
}

/** Breaks every copy of `marker` in the text (a zero-width space after its first character). */
function defuse(blocks: MarkdownBlock[], marker: string): MarkdownBlock[] {
  if (marker === '') return blocks;
  const broken = `${Array.from(marker)[0]}\u200b${Array.from(marker).slice(1).join('')}`;
  const fix = (lines: string[] | undefined): string[] =>
    (lines ?? []).map((l) => l.split(marker).join(broken));
  return blocks.map((b) => ({ ...b, head: fix(b.head), items: fix(b.items), tail: fix(b.tail) }));
}

function pointer(context: PrCommentInput['context']): string {
  const summary = safeUrl(context.summaryUrl);
  if (summary !== undefined) return `Full report: [job summary](${summary})`;
  const run = safeUrl(context.runUrl);
  return run === undefined
    ? 'Full report: job summary'
    : `Full report: job summary of [the workflow run](${run})`;
}

/**
 * Renders the sticky PR comment. The body starts with `marker` on its own line (and holds no other
 * copy of it), stays within {@link GITHUB_COMMENT_LIMIT} by dropping the passing details, then the
 * chart, then trailing failure rows (never part of a row, tag or fence) and pointing at the job summary.
 * Conclusion: `failure` for a golden failure under `gates.golden: fail`, a latency regression or an
 * expected target without results; `neutral` when nothing was planned or nothing reported; else
 * `success` (warn-mode golden failures and unstable comparisons never fail). `plannedNothing` only
 * applies when there are no results at all.
 */
export function renderPrComment(input: PrCommentInput): PrCommentOutput {
  const report = analyze(input);
  const blocks = defuse(report.blocks, input.marker);
  const [first, ...rest] = blocks;
  const marked = first === undefined ? [] : [{ ...first, head: [input.marker, ...first.head] }, ...rest];
  const body = fitMarkdown(marked, { limit: GITHUB_COMMENT_LIMIT, pointer: pointer(input.context) }).text;
  const summary = fitMarkdown(blocks, { limit: CHECK_SUMMARY_LIMIT, pointer: pointer(input.context) }).text;
  const { conclusion, title, failures } = report.verdict;
  return { body, conclusion, title, summary, failures };
}

/**
 * The full report for `$GITHUB_STEP_SUMMARY`: the comment's content without the marker and never
 * truncated short of {@link JOB_SUMMARY_LIMIT} UTF-8 bytes (then cut the same way as the comment).
 */
export function renderJobSummary(input: PrCommentInput): string {
  const blocks = defuse(analyze(input).blocks, input.marker);
  const run = safeUrl(input.context.runUrl);
  const where = run === undefined ? 'the workflow run' : `[the workflow run](${run})`;
  const text = `Full report: too large for the job summary; the result files are in the artifacts of ${where}`;
  const measure = (line: string): number => Buffer.byteLength(line, 'utf8');
  return fitMarkdown(blocks, { limit: JOB_SUMMARY_LIMIT, pointer: text, measure }).text;
}
