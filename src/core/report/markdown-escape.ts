/**
 * Escaping for text that a pull request controls (model, profile and output names, file paths, branch
 * names, error text) when it is placed in Markdown that GitHub renders: PR comments, job summaries,
 * check runs. The aim is that such text renders as the literal characters it holds and can do nothing
 * else: no table cells, links, images, HTML, headings, list items, math, @mentions or #issue references.
 */

/** U+200B ZERO WIDTH SPACE as an entity: invisible, but breaks GitHub's mention and reference matchers. */
const ZWSP = '&#8203;';

/**
 * Characters and sequences replaced in one left-to-right pass (so no replacement is rescanned):
 * `](` before `]`, URL scheme separators and `www.` (GFM autolinks), and every character that can
 * start Markdown, HTML, entity, math, mention or reference syntax.
 */
const TOKENS = /\]\(|:\/\/|[wW]{3}\.|[\\`*_[\]!~$<>&|@#]/g;

function replaceToken(token: string): string {
  switch (token) {
    case '](':
      return '\\]\\(';
    case '://':
      return `:${ZWSP}//`;
    case '<':
      return '&lt;';
    case '>':
      return '&gt;';
    case '&':
      return '&amp;';
    // An entity, not `\|`: the GFM table splitter and other renderers all leave it inside the cell.
    case '|':
      return '&#124;';
    // GitHub links `@user`, `@org/team`, `#123` and `owner/repo#123` in rendered text, after backslash
    // escapes are gone; a zero-width space right after the sigil is the only thing that stops it.
    case '@':
    case '#':
      return `${token}${ZWSP}`;
    default:
      // `www.` (any case): break the extended www autolink between the `www` and the dot.
      return token.length === 4 ? `${token.slice(0, 3)}${ZWSP}.` : `\\${token}`;
  }
}

/** Control characters (newlines, tabs, ESC, C1) and whitespace runs: collapsed to one space. */
const WHITESPACE = /[\s\p{Cc}]+/gu;

/** Control characters only (a code span keeps its spaces): each run becomes one space. */
const CONTROLS = /[\p{Cc}\u2028\u2029]+/gu;

/** Bidirectional overrides and isolates ("Trojan source"): shown as U+FFFD rather than obeyed. */
const BIDI = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Line-start block markers the character pass leaves alone: list bullets, setext underline, `1.`. */
const LEADING_MARKER = /^( ?)(?:([-+=])|(\d{1,9})([.)]))/;

/**
 * Escapes untrusted text for use inside a Markdown table cell, heading, list item or paragraph on
 * GitHub. The result is a single line: newlines, tabs and other control characters collapse to one
 * space. It renders as the original text (less the zero-width spaces it inserts after `@` and `#`, and
 * after the `:` of `://`), never as markup:
 *
 * - `<`, `>`, `&` and `|` become entities, so no HTML tag or comment, no entity, no table cell;
 * - `\`, `` ` ``, `*`, `_`, `[`, `]`, `!`, `~`, `$` get a backslash, and `](` becomes `\]\(`;
 * - `@`, `#`, `://` and `www.` get a zero-width space, so no user or team is pinged, no issue or pull
 *   request is referenced and no bare URL or e-mail address becomes a link;
 * - a leading `-`, `+`, `=` or `1.` is escaped, so text placed after a list bullet stays text;
 * - bidirectional control characters become U+FFFD.
 */
export function escapeMarkdown(text: string): string {
  const flat = text.replace(BIDI, '\ufffd').replace(WHITESPACE, ' ');
  const escaped = flat.replace(TOKENS, replaceToken);
  return escaped.replace(
    LEADING_MARKER,
    (_match, space: string, sign?: string, digits?: string, dot?: string) =>
      sign === undefined ? `${space}${digits ?? ''}\\${dot ?? ''}` : `${space}\\${sign}`,
  );
}

/** Options for {@link escapeCode}. */
export interface EscapeCodeOptions {
  /**
   * The span sits in a GFM table cell (default true): `|` is written `\|`, which the table splitter
   * turns back into `|` inside the span. The splitter pairs backslashes from the left, so a pipe after
   * an even run of them (none included) gets one more, and after an odd run none: never a cell break,
   * at worst one backslash fewer shown. Outside a table the added backslash would show: pass false.
   */
  inTable?: boolean;
}

/**
 * Wraps untrusted text in an inline code span that cannot be closed early: the fence is one backtick
 * longer than the longest backtick run inside, with a space of padding where the content starts or
 * ends with a backtick or a space (CommonMark strips exactly that padding). Runs of newlines and other
 * control characters become one space (other spaces are kept): a line break would end a table row.
 * Inside a code span nothing else is interpreted (no HTML, links, mentions or references). Empty text
 * gives `''`.
 */
export function escapeCode(text: string, options: EscapeCodeOptions = {}): string {
  let content = text.replace(BIDI, '\ufffd').replace(CONTROLS, ' ');
  if (content === '') return '';
  if (options.inTable ?? true) {
    content = content.replace(
      /(\\*)\|/g,
      (_match, run: string) => `${run}${run.length % 2 === 0 ? '\\' : ''}|`,
    );
  }
  const longestRun = (content.match(/`+/g) ?? []).reduce((longest, run) => Math.max(longest, run.length), 0);
  const fence = '`'.repeat(longestRun + 1);
  const pad = /^[` ]|[` ]$/.test(content) && content.trim() !== '' ? ' ' : '';
  return `${fence}${pad}${content}${pad}${fence}`;
}
