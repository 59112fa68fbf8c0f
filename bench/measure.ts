import { performance } from 'node:perf_hooks';
import { percentile } from '../src/core/statistics.js';

/** Median of samples (ms). */
export function median(samples: number[]): number {
  return percentile(
    [...samples].sort((a, b) => a - b),
    50,
  );
}

/**
 * Times `a` and `b` interleaved (ABAB…) for `rounds` rounds of `perRound` calls each, so drift on a
 * shared machine hits both sides alike. Returns per-call medians of the per-round means, and each
 * round's b/a ratio (for a spread: neighbouring a and b runs share the machine's mood).
 */
export async function interleaved(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  rounds: number,
  perRound: number,
): Promise<{ a: number; b: number; ratios: number[] }> {
  const as: number[] = [];
  const bs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const [fn, into] of [
      [a, as],
      [b, bs],
    ] as const) {
      const start = performance.now();
      for (let i = 0; i < perRound; i++) await fn();
      into.push((performance.now() - start) / perRound);
    }
  }
  return { a: median(as), b: median(bs), ratios: as.map((t, i) => (bs[i] as number) / t) };
}

/** One result line: name, ratio, goal, and whether the goal holds. */
export function line(name: string, ratio: number, goal: string, ok: boolean, detail: string): string {
  return `${name.padEnd(46)} ${ratio.toFixed(3).padStart(7)}   goal ${goal.padEnd(7)} ${ok ? 'met ' : 'MISS'}  ${detail}`;
}

/** A figure printed for context, with no goal to meet or miss. */
export function diagnosticLine(name: string, ratio: number, detail: string): string {
  return `${name.padEnd(46)} ${ratio.toFixed(3).padStart(7)}   (diagnostic, no goal)  ${detail}`;
}

/** `p25–p75` of ratios, for the detail column: the spread a single median hides. */
export function spread(ratios: number[]): string {
  const sorted = [...ratios].sort((x, y) => x - y);
  const at = (p: number) => percentile(sorted, p).toFixed(2);
  return `per-round ratio p25–p75 ${at(25)}–${at(75)}, n=${ratios.length}`;
}
