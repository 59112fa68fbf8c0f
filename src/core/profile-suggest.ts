import { InputError } from './errors.js';
import { compareText } from './ordering.js';
import { elementCount, formatDims, parseDims, type Shapes } from './shape-routing.js';

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

/** An observed shape: bare dims (one input) or dims per input name. */
export type ObservedShape = readonly number[] | Shapes;

export interface ShapeCount {
  shape: ObservedShape;
  /** How many requests had this shape (a positive number; need not be whole). */
  count: number;
}

export interface SuggestOptions {
  /**
   * The input name bare shapes belong to (default `x`). With named shapes, keeps only this input and
   * drops the others.
   */
  input?: string;
}

export interface SuggestedBucket {
  /** A profile name made of the bucket's varying dims, e.g. `s384x512`. */
  name: string;
  shapes: Record<string, number[]>;
  /** Requests this bucket serves (sum of counts). */
  requests: number;
  /** Σ count × elements of the requests served. */
  realElements: number;
  /** Σ count × padding elements added. */
  paddedElements: number;
  /** Padding as a share of the elements this bucket's engine computes, 0–100. */
  wastePct: number;
}

export interface Suggestion {
  /** `exact` for zero or one varying dim (dynamic program), `heuristic` for several. */
  method: 'exact' | 'heuristic';
  /** The dims the observed shapes differ in. */
  varying: { input: string; dim: number }[];
  distinctShapes: number;
  requests: number;
  realElements: number;
  paddedElements: number;
  /** Padding as a share of all elements the engines compute, 0–100. */
  wastePct: number;
  /** Smallest first; at most k (fewer when there are fewer distinct shapes). */
  buckets: SuggestedBucket[];
}

/** One input's place in the flattened dims vector. */
interface Segment {
  name: string;
  start: number;
  rank: number;
}

/**
 * Most distinct shapes one suggestion takes: the exact program is O(n²k), so 2,000 shapes at 64
 * engines is seconds and 100,000 would be hours. Real serving logs bucket far below this.
 */
export const MAX_DISTINCT_SHAPES = 2000;

interface Point {
  dims: number[];
  count: number;
}

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

/**
 * An observed shape as text: bare dims `1x3x384x512`, or named `x=1x3x384x512;y=1x2` (`;` or spaces
 * between inputs). Undefined when it is neither.
 */
export function parseShapeText(text: string): number[] | Record<string, number[]> | undefined {
  const trimmed = text.trim();
  if (!trimmed.includes('=')) return parseDims(trimmed);
  const named: Record<string, number[]> = {};
  for (const part of trimmed.split(/[;\s]+/).filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq);
    const dims = parseDims(part.slice(eq + 1));
    if (eq < 1 || !dims || Object.hasOwn(named, name)) return undefined;
    named[name] = dims;
  }
  return Object.keys(named).length > 0 ? named : undefined;
}

/**
 * Reads a histogram file's text: JSON (an array of `{"shape": [1,3,384,512] | "1x3x384x512" |
 * {"x": [...]}, "count": 120}`, or an object `{"1x3x384x512": 120}`), else CSV lines `shape,count`
 * (an optional `shape,count` header, `#` comments and blank lines allowed). `display` names the file
 * in errors.
 */
export function parseShapeHistogram(text: string, display: string): ShapeCount[] {
  const head = text.trimStart();
  const entries =
    head.startsWith('[') || head.startsWith('{') ? parseJson(text, display) : parseCsv(text, display);
  if (entries.length === 0)
    throw new InputError(`${display}: no shapes found, expected lines like 1x3x384x512,120`);
  return entries;
}

const SHAPE_HINT = 'expected dims like 1x3x384x512, [1, 3, 384, 512] or {"x": [1, 3, 384, 512]}';

function parseJson(text: string, display: string): ShapeCount[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${display}: invalid JSON: ${(error as Error).message.split('\n', 1)[0]}`, {
      cause: error,
    });
  }
  if (Array.isArray(data)) {
    return data.map((item: unknown, i) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        throw new InputError(
          `${display}: [${i}]: found ${describe(item)}, expected {"shape": ..., "count": N}`,
        );
      }
      const record = item as Record<string, unknown>;
      return {
        shape: jsonShape(record.shape, `${display}: [${i}].shape`),
        count: checkCount(record.count, `${display}: [${i}].count`),
      };
    });
  }
  return Object.entries(data as Record<string, unknown>).map(([key, count]) => {
    const shape = parseShapeText(key);
    if (!shape) throw new InputError(`${display}: key "${key}": ${SHAPE_HINT}`);
    return { shape, count: checkCount(count, `${display}: "${key}"`) };
  });
}

function jsonShape(value: unknown, where: string): ObservedShape {
  const dims = (v: unknown) =>
    typeof v === 'string'
      ? parseDims(v)
      : Array.isArray(v) && v.length > 0 && v.every((d) => Number.isSafeInteger(d) && (d as number) >= 1)
        ? (v as number[])
        : undefined;
  if (typeof value === 'string') {
    const parsed = parseShapeText(value);
    if (parsed) return parsed;
  } else if (Array.isArray(value)) {
    const parsed = dims(value);
    if (parsed) return parsed;
  } else if (typeof value === 'object' && value !== null && Object.keys(value).length > 0) {
    const named: Record<string, number[]> = {};
    for (const [name, v] of Object.entries(value)) {
      const parsed = dims(v);
      if (!parsed) throw new InputError(`${where}.${name}: found ${describe(v)}, ${SHAPE_HINT}`);
      named[name] = parsed;
    }
    return named;
  }
  throw new InputError(`${where}: found ${describe(value)}, ${SHAPE_HINT}`);
}

function parseCsv(text: string, display: string): ShapeCount[] {
  const entries: ShapeCount[] = [];
  let first = true;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${display}:${i + 1}`;
    const comma = line.lastIndexOf(',');
    if (comma < 0)
      throw new InputError(`${where}: found "${line}", expected shape,count like 1x3x384x512,120`);
    const shapeText = line
      .slice(0, comma)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    const countText = line.slice(comma + 1).trim();
    const header = first && countText.toLowerCase() === 'count';
    first = false;
    if (header) return;
    const shape = parseShapeText(shapeText);
    if (!shape) throw new InputError(`${where}: shape "${shapeText}": ${SHAPE_HINT}`);
    entries.push({ shape, count: checkCount(countText === '' ? NaN : Number(countText), `${where}: count`) });
  });
  return entries;
}

function checkCount(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InputError(`${where}: found ${describe(value)}, expected a positive number of requests`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'number' && Number.isNaN(value)) return 'not a number';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Flattens every shape to one dims vector in a fixed input order, merging equal shapes. */
function normalize(
  histogram: readonly ShapeCount[],
  input: string | undefined,
): { segments: Segment[]; points: Point[] } {
  const named = histogram.map((entry, i) => {
    checkCount(entry.count, `shape ${i + 1} (${describeShape(entry.shape)}): count`);
    if (isBare(entry.shape)) return { [input ?? 'x']: [...entry.shape] };
    const shapes = entry.shape as Shapes;
    if (input === undefined) return Object.fromEntries(Object.entries(shapes).map(([n, d]) => [n, [...d]]));
    const dims = shapes[input];
    if (!dims) {
      throw new InputError(
        `shape ${i + 1} (${describeShape(shapes)}) has no input '${input}' (it has ${Object.keys(shapes).join(', ')})`,
      );
    }
    return { [input]: [...dims] };
  });
  const firstShape = named[0]!;
  const names = Object.keys(firstShape).sort(compareText);
  const segments: Segment[] = [];
  let start = 0;
  for (const name of names) {
    const rank = firstShape[name]!.length;
    segments.push({ name, start, rank });
    start += rank;
  }
  const merged = new Map<string, Point>();
  named.forEach((shapes, i) => {
    const keys = Object.keys(shapes).sort(compareText);
    const where = `shape ${i + 1} (${describeShape(shapes)})`;
    if (keys.join(',') !== names.join(',')) {
      throw new InputError(`${where} names inputs ${keys.join(', ')}, but shape 1 names ${names.join(', ')}`);
    }
    const dims: number[] = [];
    for (const seg of segments) {
      const d = shapes[seg.name]!;
      if (d.length !== seg.rank) {
        throw new InputError(
          `${where}: ${seg.name} has rank ${d.length}, but shape 1 gives it rank ${seg.rank}`,
        );
      }
      if (!d.every((v) => Number.isSafeInteger(v) && v >= 1)) {
        throw new InputError(`${where}: ${seg.name} dims must be whole numbers ≥ 1`);
      }
      dims.push(...d);
    }
    const key = dims.join(',');
    const point = merged.get(key);
    if (point) point.count += histogram[i]!.count;
    else merged.set(key, { dims, count: histogram[i]!.count });
  });
  return { segments, points: [...merged.values()] };
}

function isBare(shape: ObservedShape): shape is readonly number[] {
  return Array.isArray(shape);
}

function describeShape(shape: ObservedShape): string {
  if (isBare(shape)) return formatDims(shape);
  return Object.entries(shape as Shapes)
    .map(([n, d]) => `${n}=${Array.isArray(d) ? formatDims(d) : String(d)}`)
    .join(' ');
}

/** The exact dynamic program over one varying dim at index `j`; returns the bucket dims. */
function exactBuckets(
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
function greedyMerge(
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
function refine(
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
function swapSearch(
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

/** Σ count × padding with each point at its smallest covering bucket; Infinity if one is uncovered. */
function totalWaste(
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
function smallestCover(order: readonly { dims: readonly number[] }[], dims: readonly number[]): number {
  const at = order.findIndex((b) => covers(b.dims, dims));
  if (at < 0) throw new Error(`internal: no bucket covers ${formatDims(dims)}`);
  return at;
}

function covers(bucket: readonly number[], dims: readonly number[]): boolean {
  return dims.every((d, i) => d <= bucket[i]!);
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
