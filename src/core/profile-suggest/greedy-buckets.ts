import { smallestCover, totalWaste } from './bucket-waste.js';
import type { Point } from './types.js';

interface Group {
  max: number[];
  volume: number;
  count: number;
  /** Σ count × volume of the members. */
  real: number;
}

/** Above this many distinct shapes, merging starts from grid cells rather than single shapes. */
const MAX_START_GROUPS = 600;

/**
 * The groups merging starts from: one per distinct shape, or, when there are more than
 * {@link MAX_START_GROUPS}, one per cell of a grid that splits each varying dim's distinct values
 * into equal-size runs (so merging stays fast; refinement and swaps then work on the real shapes).
 */
function startGroups(points: readonly Point[], volume: (dims: readonly number[]) => number): Group[] {
  const single = (members: readonly Point[]): Group => {
    const max = members.reduce<number[]>(
      (m, p) => m.map((d, i) => Math.max(d, p.dims[i]!)),
      [...members[0]!.dims],
    );
    return {
      max,
      volume: volume(max),
      count: members.reduce((sum, p) => sum + p.count, 0),
      real: members.reduce((sum, p) => sum + p.count * volume(p.dims), 0),
    };
  };
  if (points.length <= MAX_START_GROUPS) return points.map((p) => single([p]));
  const width = points[0]!.dims.length;
  const values = Array.from({ length: width }, (_, j) =>
    [...new Set(points.map((p) => p.dims[j]!))].sort((a, b) => a - b),
  );
  const varying = values.filter((v) => v.length > 1).length;
  const bins = Math.max(2, Math.floor(MAX_START_GROUPS ** (1 / varying)));
  const binOf = values.map((v) => new Map(v.map((x, i) => [x, Math.floor((i * bins) / v.length)])));
  const cells = new Map<string, Point[]>();
  for (const p of points) {
    const key = p.dims.map((d, j) => binOf[j]!.get(d)).join(',');
    const cell = cells.get(key);
    if (cell) cell.push(p);
    else cells.set(key, [p]);
  }
  return [...cells.values()].map(single);
}

/** Agglomerative merging by least added waste, down to k buckets (heuristic). */
export function greedyMerge(
  points: readonly Point[],
  k: number,
  volume: (dims: readonly number[]) => number,
): number[][] {
  const groups: (Group | undefined)[] = startGroups(points, volume);
  const waste = (g: Group) => g.count * g.volume - g.real;
  const union = (a: Group, b: Group): Group => {
    const max = a.max.map((d, i) => Math.max(d, b.max[i]!));
    return { max, volume: volume(max), count: a.count + b.count, real: a.real + b.real };
  };
  const scratch: number[] = [];
  const added = (a: Group, b: Group) => {
    for (let i = 0; i < a.max.length; i++) scratch[i] = Math.max(a.max[i]!, b.max[i]!);
    return (a.count + b.count) * volume(scratch) - a.real - b.real - waste(a) - waste(b);
  };
  const n = groups.length;
  // Each live group's cheapest partner, so a merge step costs O(n) rather than O(n²) in the usual case.
  const partner = new Int32Array(n).fill(-1);
  const partnerCost = new Float64Array(n).fill(Infinity);
  const findPartner = (i: number) => {
    partner[i] = -1;
    partnerCost[i] = Infinity;
    for (let o = 0; o < n; o++) {
      if (o === i || !groups[o]) continue;
      const c = added(groups[i]!, groups[o]!);
      if (c < partnerCost[i]!) {
        partnerCost[i] = c;
        partner[i] = o;
      }
    }
  };
  for (let i = 0; i < n; i++) findPartner(i);
  for (let live = n; live > k; live--) {
    let i = -1;
    for (let g = 0; g < n; g++) {
      if (groups[g] && (i < 0 || partnerCost[g]! < partnerCost[i]!)) i = g;
    }
    const o = partner[i]!;
    const [keep, drop] = i < o ? [i, o] : [o, i];
    groups[keep] = union(groups[keep]!, groups[drop]!);
    groups[drop] = undefined;
    findPartner(keep);
    for (let g = 0; g < n; g++) {
      if (g === keep || !groups[g]) continue;
      if (partner[g] === keep || partner[g] === drop) findPartner(g);
      else {
        const c = added(groups[g]!, groups[keep]!);
        if (c < partnerCost[g]!) {
          partnerCost[g] = c;
          partner[g] = keep;
        }
      }
    }
  }
  return groups.filter((g): g is Group => g !== undefined).map((g) => g.max);
}

/**
 * Alternates "each point to its smallest covering bucket" and "each bucket shrunk to the elementwise
 * max of its points" until nothing changes. Every point stays covered and the waste never rises.
 */
export function refine(
  points: readonly Point[],
  start: number[][],
  volume: (dims: readonly number[]) => number,
): number[][] {
  let buckets = start;
  for (let round = 0; round < 100; round++) {
    const order = buckets.map((dims) => ({ dims, volume: volume(dims) })).sort((a, b) => a.volume - b.volume);
    const shrunk: (number[] | undefined)[] = order.map(() => undefined);
    for (const p of points) {
      const at = smallestCover(order, p.dims);
      const current = shrunk[at];
      shrunk[at] = current ? current.map((d, i) => Math.max(d, p.dims[i]!)) : [...p.dims];
    }
    const next = shrunk.filter((b): b is number[] => b !== undefined);
    const same =
      next.length === order.length && next.every((b, i) => b.every((d, j) => d === order[i]!.dims[j]));
    buckets = next;
    if (same) break;
  }
  return buckets;
}

/**
 * Local search: replace one bucket by a candidate while the total waste drops (first improvement,
 * at most 20 passes). Candidates are capped so one pass stays near 5·10⁷ elementary steps.
 */
export function swapSearch(
  points: readonly Point[],
  start: number[][],
  volume: (dims: readonly number[]) => number,
): number[][] {
  const k = start.length;
  const width = points[0]!.dims.length;
  const byCount = [...points].sort((a, b) => b.count - a.count).map((p) => p.dims);
  const candidates: number[][] = [...byCount];
  if (points.length <= 40) {
    for (let i = 0; i < points.length; i++) {
      for (let j = i + 1; j < points.length; j++) {
        candidates.push(points[i]!.dims.map((d, x) => Math.max(d, points[j]!.dims[x]!)));
      }
    }
  }
  const limit = Math.max(k, Math.floor(5e7 / (points.length * k * k * width)));
  const pool = candidates.slice(0, limit);
  let buckets = start;
  let best = totalWaste(points, buckets, volume);
  for (let pass = 0; pass < 20; pass++) {
    let improved = false;
    for (let b = 0; b < buckets.length; b++) {
      for (const candidate of pool) {
        if (buckets.some((x) => x.every((d, i) => d === candidate[i]))) continue;
        const trial = buckets.map((x, i) => (i === b ? candidate : x));
        const waste = totalWaste(points, trial, volume);
        if (waste < best) {
          best = waste;
          buckets = trial;
          improved = true;
        }
      }
    }
    if (!improved) break;
  }
  return buckets;
}
