import { GITHUB_COMMENT_LIMIT } from '../core/report/pr-comment.js';
import { escapeMarkdown } from '../core/report/markdown-escape.js';

/** Lines said before the verdict: where the gates came from, what cannot be judged, why jobs failed. */
export interface Preamble {
  notices: string[];
  problems: string[];
}

const PREAMBLE_LIMIT = 8000;

/** The preamble as Markdown (escaped: its text comes from configs and job output), or ''. */
export function preambleMarkdown(preamble: Preamble): string {
  const lines = [
    ...preamble.problems.map((p) => `- ❌ ${escapeMarkdown(p)}`),
    ...preamble.notices.map((n) => `- ℹ️ ${escapeMarkdown(n)}`),
  ];
  if (lines.length === 0) return '';
  let text = lines.join('\n');
  if (text.length > PREAMBLE_LIMIT) text = `${text.slice(0, PREAMBLE_LIMIT)}…`;
  return `${text}\n\n`;
}

/**
 * `body` (which starts with the marker line) with `markdown` right after the marker, cut to GitHub's
 * comment limit at a line boundary if the two no longer fit together.
 */
export function withPreamble(body: string, markdown: string, marker?: string): string {
  if (markdown === '') return body;
  const newline = body.indexOf('\n');
  const [head, rest] =
    marker !== undefined && newline >= 0 && body.slice(0, newline) === marker
      ? [`${marker}\n`, body.slice(newline + 1)]
      : ['', body];
  const text = `${head}${markdown}${rest}`;
  if (text.length <= GITHUB_COMMENT_LIMIT) return text;
  const note = '\n\n… (cut to fit; the job summary has the full report)';
  const cut = text.slice(0, GITHUB_COMMENT_LIMIT - note.length);
  return `${cut.slice(0, Math.max(cut.lastIndexOf('\n'), 0))}${note}`;
}

/** The comment of a report that could not judge: the gate fails closed and says why. */
export function errorBody(marker: string, reason: string, runUrl: string): string {
  return [
    marker,
    '### ❌ kiln: the gate could not decide',
    '',
    escapeMarkdown(reason),
    '',
    `The check fails closed until a run can judge this change. Details: the job log of ${escapeMarkdown(runUrl)}.`,
  ].join('\n');
}
