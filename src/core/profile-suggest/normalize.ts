import { InputError } from '../errors.js';
import { compareText } from '../ordering.js';
import { formatDims, type Shapes } from '../shape-routing.js';
import { checkCount } from './shape-histogram.js';
import type { ObservedShape, Point, Segment, ShapeCount } from './types.js';

/** Flattens every shape to one dims vector in a fixed input order, merging equal shapes. */
export function normalize(
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
