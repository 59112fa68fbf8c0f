/**
 * Fitting a Markdown document into a size limit (GitHub comment bodies, check-run summaries, job
 * summaries) without ever cutting inside a table row, an HTML tag or a code fence: the document is a
 * list of blocks, and only whole blocks are dropped and only whole items (table rows, list lines)
 * trimmed, with a line saying how many were left out and a pointer to the full report at the end.
 */

/** A run of lines that is kept, dropped or trimmed as a unit. Blocks are separated by a blank line. */
export interface MarkdownBlock {
  /** Lines before the items: a heading, a table header, an opening tag. */
  head: string[];
  /** Lines that may be trimmed from the end, one at a time, when `more` is set: rows, list items. */
  items?: string[];
  /** Lines after the items: a closing tag. */
  tail?: string[];
  /** When set, the whole block may be dropped; blocks with lower values are dropped first. */
  drop?: number;
  /** The line put after a blank line in place of `dropped` trimmed items; setting it allows trimming. */
  more?: (dropped: number) => string;
}

/** Options of {@link fitMarkdown}. */
export interface FitOptions {
  /** Largest size of the text, newlines included, as `measure` counts it. */
  limit: number;
  /** The line appended (after a blank line) when anything was left out. */
  pointer: string;
  /** Size of a string: UTF-16 code units by default; pass a UTF-8 byte count for byte limits. */
  measure?: (text: string) => number;
}

/** The fitted text (ending in a newline) and whether anything was left out. */
export interface FitResult {
  text: string;
  truncated: boolean;
}

interface State {
  block: MarkdownBlock;
  kept: number;
  dropped: boolean;
}

function blockLines(s: State): string[] {
  const items = s.block.items ?? [];
  const trimmed = items.length - s.kept;
  const more = trimmed > 0 && s.block.more !== undefined ? ['', s.block.more(trimmed)] : [];
  return [...s.block.head, ...items.slice(0, s.kept), ...more, ...(s.block.tail ?? [])];
}

function render(states: State[]): string[] {
  const blocks = states.filter((s) => !s.dropped).map(blockLines);
  return blocks.filter((lines) => lines.length > 0).flatMap((lines, i) => (i === 0 ? lines : ['', ...lines]));
}

/**
 * Joins `blocks` into one text within `options.limit`. When the whole text is too long it leaves
 * out, in this order, until the rest plus the pointer line fits: droppable blocks (lowest `drop`
 * first); then items of trimmable blocks, last block first, keeping as many leading items as fit.
 * If even the heads do not fit, it keeps whole blocks from the start while they fit (and lines of
 * the first block when not even that one does, so the first line survives).
 */
export function fitMarkdown(blocks: MarkdownBlock[], options: FitOptions): FitResult {
  const measure = options.measure ?? ((text: string) => text.length);
  const size = (lines: string[]): number => lines.reduce((sum, line) => sum + measure(line) + 1, 0);
  const states: State[] = blocks.map((block) => ({ block, kept: block.items?.length ?? 0, dropped: false }));
  const full = render(states);
  if (size(full) <= options.limit) return { text: full.join('\n') + '\n', truncated: false };

  const pointer = ['', options.pointer];
  const budget = options.limit - size(pointer);
  const done = (lines: string[]): FitResult => ({
    text: [...lines, ...pointer].join('\n') + '\n',
    truncated: true,
  });

  const droppable = states.filter((s) => s.block.drop !== undefined);
  droppable.sort((a, b) => (a.block.drop ?? 0) - (b.block.drop ?? 0));
  for (const s of droppable) {
    s.dropped = true;
    const lines = render(states);
    if (size(lines) <= budget) return done(lines);
  }

  const trimmable = states.filter((s) => !s.dropped && s.block.more !== undefined && s.kept > 0);
  for (const s of trimmable.reverse()) {
    const items = s.block.items ?? [];
    const more = s.block.more ?? String;
    s.kept = 0;
    // Without items, the block still holds a blank line and the `more` line: 2 newlines + its text.
    const withoutItems = size(render(states)) - 2 - measure(more(items.length));
    let cost = withoutItems;
    let best = -1;
    for (let k = 0; k <= items.length && cost <= budget; k++) {
      const moreCost = k < items.length ? 2 + measure(more(items.length - k)) : 0;
      if (cost + moreCost <= budget) best = k;
      cost += k < items.length ? measure(items[k] ?? '') + 1 : 0;
    }
    if (best >= 0) {
      s.kept = best;
      return done(render(states));
    }
  }

  const kept: string[] = [];
  for (const s of states.filter((state) => !state.dropped)) {
    const lines = blockLines(s);
    const next = kept.length === 0 ? lines : ['', ...lines];
    if (size(kept) + size(next) <= budget) {
      kept.push(...next);
      continue;
    }
    for (const line of kept.length === 0 ? lines : []) {
      if (size(kept) + measure(line) + 1 > budget) break;
      kept.push(line);
    }
    break;
  }
  return done(kept);
}
