import type { Point } from './types.js';

/** The exact dynamic program over one varying dim at index `j`; returns the bucket dims. */
export function exactBuckets(
  points: readonly Point[],
  j: number,
  k: number,
  volume: (dims: readonly number[]) => number,
): number[][] {
  const sorted = [...points].sort((a, b) => a.dims[j]! - b.dims[j]!);
  const n = sorted.length;
  const m = Math.min(k, n);
  // Prefix sums of counts and of count × volume, 1-based.
  const counts = new Float64Array(n + 1);
  const weighted = new Float64Array(n + 1);
  const volumes = sorted.map((p) => volume(p.dims));
  sorted.forEach((p, i) => {
    counts[i + 1] = counts[i]! + p.count;
    weighted[i + 1] = weighted[i]! + p.count * volumes[i]!;
  });
  // Waste of one bucket at sorted[e-1] serving sorted[s-1..e-1].
  const cost = (s: number, e: number) =>
    (counts[e]! - counts[s - 1]!) * volumes[e - 1]! - (weighted[e]! - weighted[s - 1]!);
  // best[g][e]: least waste serving the first e values with g buckets, the last at value e.
  const best = Array.from({ length: m + 1 }, () => new Float64Array(n + 1).fill(Infinity));
  const from = Array.from({ length: m + 1 }, () => new Int32Array(n + 1));
  best[0]![0] = 0;
  for (let g = 1; g <= m; g++) {
    for (let e = g; e <= n; e++) {
      for (let s = g; s <= e; s++) {
        const candidate = best[g - 1]![s - 1]! + cost(s, e);
        if (candidate < best[g]![e]!) {
          best[g]![e] = candidate;
          from[g]![e] = s;
        }
      }
    }
  }
  const buckets: number[][] = [];
  for (let g = m, e = n; g > 0; g--) {
    buckets.push([...sorted[e - 1]!.dims]);
    e = from[g]![e]! - 1;
  }
  return buckets.reverse();
}
