/**
 * Keeping Prometheus label values bounded: every distinct label set is a series Prometheus keeps for
 * weeks, so values from input (events files, target names) are folded rather than passed through.
 */

/** The label value that absorbs values beyond a label's budget. */
export const OTHER_LABEL = 'other';

/** `value` when it is one of `allowed`, else `other`: events files are input, enums stay enums. */
export function oneOf(value: string, allowed: readonly string[]): string {
  return allowed.includes(value) ? value : OTHER_LABEL;
}

/** Passes the first `limit` distinct values through and folds any later new value into `other`. */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(private readonly limit: number) {}

  map(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.limit) return OTHER_LABEL;
    this.seen.add(value);
    return value;
  }
}
