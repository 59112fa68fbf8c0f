/**
 * Profile advice (`kiln profiles suggest`): from a histogram of observed serving shapes, propose k
 * shape buckets, one engine each, so that padding every request up to the smallest bucket that covers
 * it wastes as few elements as possible. Pure.
 *
 * Waste of a request = elements of its bucket − its own elements, weighted by its count. Every
 * observed shape is covered by some bucket (in particular the largest).
 *
 * - One varying dim (the usual case: batch, or sequence length): exact dynamic program over the
 *   sorted distinct values, O(n²k). An optimal bucket always sits at an observed value (shrinking a
 *   bucket to the largest value it serves only lowers waste), and each bucket serves a contiguous run
 *   of values, so the program is optimal.
 * - Several varying dims (height and width): a HEURISTIC, not guaranteed optimal. Agglomerative
 *   merging starts from one bucket per distinct shape and repeatedly merges the two buckets whose
 *   union (the elementwise max of their shapes) adds the least waste, until k remain; then a
 *   refinement pass alternates "each request to its smallest covering bucket" with "each bucket shrunk
 *   to the elementwise max of what it serves" until stable; then a swap search replaces one bucket at a
 *   time by a candidate (an observed shape, or for up to 40 distinct shapes also the elementwise max of
 *   two) while that lowers the waste, and refines again. No step can raise the waste. Greedy merging
 *   alone is myopic (it can merge two mid-size shapes early and strand a frequent small one); the swap
 *   search repairs the common cases of that.
 */

import { smallestCover } from './bucket-waste.js';
import { exactBuckets } from './exact-buckets.js';
import { greedyMerge, refine, swapSearch } from './greedy-buckets.js';
import { normalize } from './normalize.js';
import { InputError } from '../errors.js';
import { compareText } from '../ordering.js';
import { elementCount } from '../shape-routing.js';
import {
  MAX_DISTINCT_SHAPES,
  type ShapeCount,
  type SuggestOptions,
  type SuggestedBucket,
  type Suggestion,
} from './types.js';

export { parseShapeHistogram, parseShapeText } from './shape-histogram.js';
export { MAX_DISTINCT_SHAPES } from './types.js';
export type { ObservedShape, ShapeCount, SuggestOptions, SuggestedBucket, Suggestion } from './types.js';

/** Proposes at most `k` buckets for the observed shapes; see the module comment for the method. */
export function suggestProfiles(
  histogram: readonly ShapeCount[],
  k: number,
  options: SuggestOptions = {},
): Suggestion {
  if (!Number.isInteger(k) || k < 1) throw new InputError(`engines: found ${k}, expected a whole number ≥ 1`);
  if (histogram.length === 0) throw new InputError('no observed shapes: the histogram is empty');
  const { segments, points } = normalize(histogram, options.input);
  if (points.length > MAX_DISTINCT_SHAPES) {
    throw new InputError(
      `${points.length} distinct shapes, expected at most ${MAX_DISTINCT_SHAPES} (round the logged shapes to coarser steps first, e.g. sequence lengths to multiples of 8)`,
    );
  }
  const volume = (dims: readonly number[]) =>
    segments.reduce((sum, s) => sum + elementCount(dims.slice(s.start, s.start + s.rank)), 0);
  const width = points[0]!.dims.length;
  const varyingAt: number[] = [];
  for (let j = 0; j < width; j++) {
    if (new Set(points.map((p) => p.dims[j])).size > 1) varyingAt.push(j);
  }
  const method = varyingAt.length <= 1 ? 'exact' : 'heuristic';
  const chosen =
    method === 'exact'
      ? exactBuckets(points, varyingAt[0] ?? 0, k, volume)
      : refine(
          points,
          swapSearch(points, refine(points, greedyMerge(points, k, volume), volume), volume),
          volume,
        );

  const order = chosen
    .map((dims) => ({ dims, volume: volume(dims) }))
    .sort((a, b) => a.volume - b.volume || compareText(a.dims.join(','), b.dims.join(',')));
  const stats = order.map(() => ({ requests: 0, real: 0, padded: 0 }));
  for (const point of points) {
    const at = smallestCover(order, point.dims);
    const real = volume(point.dims);
    stats[at]!.requests += point.count;
    stats[at]!.real += point.count * real;
    stats[at]!.padded += point.count * (order[at]!.volume - real);
  }
  const buckets = order
    .map((b, i) => ({ b, s: stats[i]! }))
    .filter(({ s }) => s.requests > 0)
    .map(({ b, s }, i) => ({
      name: bucketName(b.dims, varyingAt, i),
      shapes: Object.fromEntries(
        segments.map((seg) => [seg.name, b.dims.slice(seg.start, seg.start + seg.rank)]),
      ),
      requests: s.requests,
      realElements: s.real,
      paddedElements: s.padded,
      wastePct: percent(s.padded, s.real + s.padded),
    }));
  const real = buckets.reduce((sum, b) => sum + b.realElements, 0);
  const padded = buckets.reduce((sum, b) => sum + b.paddedElements, 0);
  return {
    method,
    varying: varyingAt.map((j) => {
      const seg = segments.find((s) => j >= s.start && j < s.start + s.rank)!;
      return { input: seg.name, dim: j - seg.start };
    }),
    distinctShapes: points.length,
    requests: buckets.reduce((sum, b) => sum + b.requests, 0),
    realElements: real,
    paddedElements: padded,
    wastePct: percent(padded, real + padded),
    buckets,
  };
}

/** The YAML `profiles:` block for the buckets, ready to paste under a model in kiln.yaml. */
export function profilesYaml(buckets: readonly Pick<SuggestedBucket, 'name' | 'shapes'>[]): string {
  const lines = ['profiles:'];
  for (const b of buckets) {
    const shapes = Object.entries(b.shapes)
      .map(([name, dims]) => `${yamlKey(name)}: [${dims.join(', ')}]`)
      .join(', ');
    lines.push(`  - name: ${b.name}`, `    shapes: { ${shapes} }`);
  }
  return `${lines.join('\n')}\n`;
}

function bucketName(dims: readonly number[], varyingAt: readonly number[], index: number): string {
  const parts = varyingAt.length > 0 ? varyingAt.map((j) => dims[j]!) : dims;
  const name = `s${parts.join('x')}`;
  return name.length <= 120 ? name : `p${index + 1}`;
}

function percent(part: number, whole: number): number {
  return whole === 0 ? 0 : (100 * part) / whole;
}

function yamlKey(name: string): string {
  const plain =
    /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name) && !/^(true|false|null|yes|no|on|off|y|n)$/i.test(name);
  return plain ? name : JSON.stringify(name);
}
