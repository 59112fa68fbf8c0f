/**
 * One sticky PR comment per marker: found by a hidden HTML marker on the first line of a comment
 * written by a bot, updated in place, created only when none exists.
 *
 * Decisions:
 * - Only bot comments (login ending in `[bot]`, e.g. `github-actions[bot]`) are candidates, so a
 *   human who quotes or pastes the marker can never have their comment overwritten.
 * - The marker must be the first line's content (leading whitespace allowed); we put it there
 *   ourselves when the body lacks it.
 * - Several marked bot comments (left by an older version or two report jobs racing): the newest is
 *   updated; each older one is rewritten to a one-line "superseded" note without the marker, so the
 *   thread converges to one report and stale results no longer read as current. A failure while
 *   rewriting an old one is returned in `warnings`, never thrown (the report itself was posted).
 * - The comment create (a POST) is never retried by the API layer. If it fails we list the comments
 *   once more: if the comment exists after all (the server applied it before answering 5xx), that is
 *   a success; otherwise the original error is thrown.
 */
import type { GitHubApi, IssueComment } from './github-api.js';

export interface PullRef {
  owner: string;
  repo: string;
  number: number;
}

export interface StickyCommentResult {
  id: number;
  html_url: string;
  action: 'created' | 'updated';
  /** Problems that did not stop the report from being posted (e.g. superseding an old comment). */
  warnings: string[];
}

export const DEFAULT_MARKER = '<!-- kiln:report -->';

const MARKER_RE = /^<!--\s*[A-Za-z0-9][A-Za-z0-9:._/-]*\s*-->$/;

export function isBotLogin(login: string | null): boolean {
  return login !== null && login.endsWith('[bot]');
}

function firstLine(body: string): string {
  const nl = body.indexOf('\n');
  return (nl === -1 ? body : body.slice(0, nl)).trim();
}

/** Whether `body` carries `marker` on its first line (the marker leads the line). */
export function hasMarker(body: string, marker: string): boolean {
  return firstLine(body).startsWith(marker);
}

/** The comments that are ours: written by a bot and marked on their first line; oldest first. */
export function findMarkedComments(comments: readonly IssueComment[], marker: string): IssueComment[] {
  return comments.filter((c) => isBotLogin(c.user) && hasMarker(c.body, marker)).sort((a, b) => a.id - b.id);
}

function withMarker(body: string, marker: string): string {
  return hasMarker(body, marker) ? body : `${marker}\n${body}`;
}

export async function upsertStickyComment(
  api: GitHubApi,
  pr: PullRef,
  marker: string,
  body: string,
): Promise<StickyCommentResult> {
  if (!MARKER_RE.test(marker)) {
    throw new Error(
      `sticky comment: marker must be a one-line HTML comment like ${DEFAULT_MARKER}: ${marker}`,
    );
  }
  const text = withMarker(body, marker);
  const existing = findMarkedComments(await api.listIssueComments(pr.owner, pr.repo, pr.number), marker);
  const warnings: string[] = [];

  if (existing.length === 0) {
    try {
      const created = await api.createIssueComment(pr.owner, pr.repo, pr.number, text);
      return { ...created, action: 'created', warnings };
    } catch (err) {
      // The create may have been applied before the failure was reported; look once, never re-POST.
      let after: IssueComment[] = [];
      try {
        after = findMarkedComments(await api.listIssueComments(pr.owner, pr.repo, pr.number), marker);
      } catch {
        throw err;
      }
      const mine = after.filter((c) => c.body === text).at(-1);
      if (!mine) throw err;
      warnings.push(`creating the comment reported an error, but it was created: ${(err as Error).message}`);
      return { id: mine.id, html_url: mine.html_url, action: 'created', warnings };
    }
  }

  const newest = existing[existing.length - 1];
  const updated = await api.updateIssueComment(pr.owner, pr.repo, newest.id, text);
  for (const old of existing.slice(0, -1)) {
    try {
      await api.updateIssueComment(
        pr.owner,
        pr.repo,
        old.id,
        `_This report was superseded by a [newer one](${updated.html_url})._`,
      );
    } catch (err) {
      warnings.push(`could not mark old report comment ${old.id} as superseded: ${(err as Error).message}`);
    }
  }
  return { ...updated, action: 'updated', warnings };
}
