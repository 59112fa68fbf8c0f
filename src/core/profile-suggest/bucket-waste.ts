import { formatDims } from '../shape-routing.js';
import type { Point } from './types.js';

/** Σ count × padding with each point at its smallest covering bucket; Infinity if one is uncovered. */
export function totalWaste(
  points: readonly Point[],
  buckets: readonly number[][],
  volume: (dims: readonly number[]) => number,
): number {
  const order = buckets.map((dims) => ({ dims, volume: volume(dims) })).sort((a, b) => a.volume - b.volume);
  let waste = 0;
  for (const p of points) {
    const bucket = order.find((b) => covers(b.dims, p.dims));
    if (!bucket) return Infinity;
    waste += p.count * (bucket.volume - volume(p.dims));
  }
  return waste;
}

/** Index of the first (smallest) bucket in volume order that covers `dims`. */
export function smallestCover(
  order: readonly { dims: readonly number[] }[],
  dims: readonly number[],
): number {
  const at = order.findIndex((b) => covers(b.dims, dims));
  if (at < 0) throw new Error(`internal: no bucket covers ${formatDims(dims)}`);
  return at;
}

export function covers(bucket: readonly number[], dims: readonly number[]): boolean {
  return dims.every((d, i) => d <= bucket[i]!);
}
