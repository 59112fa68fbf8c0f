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
 * shared machine hits both sides alike. Returns per-call medians of the per-round means.
 */
export async function interleaved(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  rounds: number,
  perRound: number,
): Promise<{ a: number; b: number }> {
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
  return { a: median(as), b: median(bs) };
}

/** One result line: name, ratio, goal, and whether the goal holds. */
export function line(name: string, ratio: number, goal: string, ok: boolean, detail: string): string {
  return `${name.padEnd(46)} ${ratio.toFixed(3).padStart(7)}   goal ${goal.padEnd(7)} ${ok ? 'met ' : 'MISS'}  ${detail}`;
}

/** A figure printed for context, with no goal to meet or miss. */
export function diagnosticLine(name: string, ratio: number, detail: string): string {
  return `${name.padEnd(46)} ${ratio.toFixed(3).padStart(7)}   (diagnostic, no goal)  ${detail}`;
}
