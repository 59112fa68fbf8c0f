import fc from 'fast-check';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/io/config-load.js';
import {
  parseShapeHistogram,
  profilesYaml,
  suggestProfiles,
  type ShapeCount,
} from '../../src/core/profile-suggest/index.js';
import { routeShape } from '../../src/core/shape-routing.js';

const volume = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
const covers = (bucket: readonly number[], dims: readonly number[]) => dims.every((d, i) => d <= bucket[i]!);

/**
 * The least waste over every choice of at most k buckets that covers every observed shape, each shape
 * served by its smallest covering bucket. Candidate buckets are the grid of observed values per dim
 * (an optimal bucket never needs a value no request has). Exponential: tiny inputs only.
 */
function bruteForce(points: { dims: number[]; count: number }[], k: number): number {
  const rank = points[0]!.dims.length;
  let grid: number[][] = [[]];
  for (let j = 0; j < rank; j++) {
    const values = [...new Set(points.map((p) => p.dims[j]!))];
    grid = grid.flatMap((prefix) => values.map((v) => [...prefix, v]));
  }
  let best = Infinity;
  const chosen: number[][] = [];
  const visit = (from: number) => {
    if (chosen.length > 0) {
      const order = [...chosen].sort((a, b) => volume(a) - volume(b));
      let waste = 0;
      for (const p of points) {
        const bucket = order.find((b) => covers(b, p.dims));
        if (!bucket) {
          waste = Infinity;
          break;
        }
        waste += p.count * (volume(bucket) - volume(p.dims));
      }
      best = Math.min(best, waste);
    }
    if (chosen.length === k) return;
    for (let i = from; i < grid.length; i++) {
      chosen.push(grid[i]!);
      visit(i + 1);
      chosen.pop();
    }
  };
  visit(0);
  return best;
}

/** Histograms of shapes [1, 3, h, w] where only w varies. */
const oneDimArb = fc.array(
  fc.record({ w: fc.integer({ min: 1, max: 64 }), count: fc.integer({ min: 1, max: 100 }) }),
  { minLength: 1, maxLength: 9 },
);
/** Histograms where h and w both vary. */
const twoDimArb = fc.array(
  fc.record({
    h: fc.integer({ min: 1, max: 12 }),
    w: fc.integer({ min: 1, max: 12 }),
    count: fc.integer({ min: 1, max: 50 }),
  }),
  { minLength: 1, maxLength: 5 },
);

function bucketFor(buckets: { shapes: Record<string, number[]> }[], dims: number[]): number[] | undefined {
  return buckets.map((b) => b.shapes.x!).find((b) => covers(b, dims));
}

describe('suggestProfiles: one varying dim (exact)', () => {
  it('finds the hand-checked optimum', () => {
    const histogram: ShapeCount[] = [
      { shape: [1, 3, 48, 320], count: 500 },
      { shape: [1, 3, 48, 160], count: 300 },
      { shape: [1, 3, 48, 640], count: 50 },
      { shape: [1, 3, 48, 480], count: 100 },
      { shape: [1, 3, 48, 200], count: 200 },
    ];
    const s = suggestProfiles(histogram, 2);
    expect(s.method).toBe('exact');
    expect(s.varying).toEqual([{ input: 'x', dim: 3 }]);
    expect(s.buckets.map((b) => [b.name, b.shapes.x, b.requests])).toEqual([
      ['s320', [1, 3, 48, 320], 1000],
      ['s640', [1, 3, 48, 640], 150],
    ]);
    // 300 × 160 + 200 × 120 columns padded to 320, 100 × 160 to 640; 144 elements per column.
    const padded = 144 * (300 * 160 + 200 * 120 + 100 * 160);
    expect(s.paddedElements).toBe(padded);
    expect(s.buckets[0]!.wastePct).toBeCloseTo(
      (100 * 144 * (300 * 160 + 200 * 120)) / (1000 * 144 * 320),
      10,
    );
    expect(s.wastePct).toBeCloseTo((100 * padded) / (s.realElements + padded), 10);
  });

  it('is optimal: equals brute force over all bucket subsets', () => {
    fc.assert(
      fc.property(oneDimArb, fc.integer({ min: 1, max: 5 }), (rows, k) => {
        const histogram = rows.map((r) => ({ shape: [1, 3, 4, r.w], count: r.count }));
        const s = suggestProfiles(histogram, k);
        const points = histogram.map((h) => ({ dims: h.shape, count: h.count }));
        expect(s.paddedElements).toBe(bruteForce(points, k));
        expect(s.buckets.length).toBe(Math.min(k, new Set(rows.map((r) => r.w)).size));
      }),
      { numRuns: 300 },
    );
  });

  it('is optimal with a second, static input too', () => {
    fc.assert(
      fc.property(oneDimArb, fc.integer({ min: 1, max: 4 }), (rows, k) => {
        const histogram = rows.map((r) => ({ shape: { x: [2, r.w], len: [3] }, count: r.count }));
        const s = suggestProfiles(histogram, k);
        expect(s.method).toBe('exact');
        // Flattened as [len..., x...] in name order; the static input adds the same to every volume.
        const points = rows.map((r) => ({ dims: [3, 2, r.w], count: r.count }));
        const vol = (d: number[]) => d[0]! + d[1]! * d[2]!;
        const distinct = [...new Set(rows.map((r) => r.w))].sort((a, b) => a - b);
        let best = Infinity;
        for (let mask = 1; mask < 1 << distinct.length; mask++) {
          const chosen = distinct.filter((_, i) => mask & (1 << i));
          if (chosen.length > k) continue;
          let waste = 0;
          for (const p of points) {
            const w = chosen.find((c) => c >= p.dims[2]!);
            waste = w === undefined ? Infinity : waste + p.count * (vol([3, 2, w]) - vol(p.dims));
          }
          best = Math.min(best, waste);
        }
        expect(s.paddedElements).toBe(best);
        for (const b of s.buckets) expect(b.shapes.len).toEqual([3]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('suggestProfiles: several varying dims (heuristic)', () => {
  it('covers every shape, never beats the optimum, never does worse than one bucket', () => {
    fc.assert(
      fc.property(twoDimArb, fc.integer({ min: 1, max: 3 }), (rows, k) => {
        const histogram = rows.map((r) => ({ shape: [1, r.h, r.w], count: r.count }));
        const s = suggestProfiles(histogram, k);
        const points = histogram.map((h) => ({ dims: h.shape, count: h.count }));
        expect(s.buckets.length).toBeLessThanOrEqual(k);
        expect(s.paddedElements).toBeGreaterThanOrEqual(bruteForce(points, k));
        expect(s.paddedElements).toBeLessThanOrEqual(suggestProfiles(histogram, 1).paddedElements);
      }),
      { numRuns: 200 },
    );
  });

  it('picks the obvious buckets on a hand-made histogram', () => {
    const s = suggestProfiles(
      [
        { shape: [1, 3, 384, 384], count: 300 },
        { shape: [1, 3, 384, 512], count: 120 },
        { shape: [1, 3, 320, 480], count: 40 },
        { shape: [1, 3, 512, 384], count: 100 },
        { shape: [1, 3, 640, 640], count: 10 },
      ],
      3,
      { input: 'image' },
    );
    expect(s.method).toBe('heuristic');
    expect(s.buckets.map((b) => b.name)).toEqual(['s384x512', 's512x384', 's640x640']);
    const points = [
      { dims: [1, 3, 384, 384], count: 300 },
      { dims: [1, 3, 384, 512], count: 120 },
      { dims: [1, 3, 320, 480], count: 40 },
      { dims: [1, 3, 512, 384], count: 100 },
      { dims: [1, 3, 640, 640], count: 10 },
    ];
    expect(s.paddedElements).toBe(bruteForce(points, 3));
  });
});

describe('suggestProfiles: heuristic corner cases', () => {
  it('repairs a myopic merge with the swap search', () => {
    // Greedy merging alone joins 384x512 and 512x384 first and strands the frequent 384x384.
    const histogram = [
      { shape: [1, 3, 384, 512], count: 120 },
      { shape: [1, 3, 512, 384], count: 100 },
      { shape: [1, 3, 640, 640], count: 10 },
      { shape: [1, 3, 384, 384], count: 300 },
    ];
    const s = suggestProfiles(histogram, 2);
    expect(s.buckets.map((b) => b.name)).toEqual(['s384x512', 's640x640']);
    expect(s.paddedElements).toBe(
      bruteForce(
        histogram.map((h) => ({ dims: h.shape, count: h.count })),
        2,
      ),
    );
  });

  // The bound on work is the test's own timeout, not a wall-clock assertion: speed belongs in npm run bench.
  it('finishes and covers with thousands of distinct shapes (grid-cell start)', { timeout: 120_000 }, () => {
    const histogram: ShapeCount[] = [];
    for (let h = 1; h <= 50; h++) {
      for (let w = 1; w <= 40; w++)
        histogram.push({ shape: [1, 3, 16 * h, 16 * w], count: 1 + ((h * w) % 7) });
    }
    const s = suggestProfiles(histogram, 4);
    expect(s.distinctShapes).toBe(2000);
    expect(s.buckets.length).toBeLessThanOrEqual(4);
    expect(s.buckets.at(-1)!.shapes.x).toEqual([1, 3, 800, 640]);
    for (const h of histogram) expect(bucketFor(s.buckets, h.shape as number[])).toBeDefined();
    expect(s.paddedElements).toBeLessThan(suggestProfiles(histogram, 1).paddedElements);
  });
});

describe('suggestProfiles: any histogram', () => {
  const anyArb = fc.oneof(
    oneDimArb.map((rows) => rows.map((r) => ({ shape: [1, 3, 4, r.w], count: r.count }))),
    twoDimArb.map((rows) => rows.map((r) => ({ shape: [1, r.h, r.w], count: r.count }))),
  );

  it('always covers the largest shape, and every request is served by its smallest covering bucket', () => {
    fc.assert(
      fc.property(anyArb, fc.integer({ min: 1, max: 6 }), (histogram, k) => {
        const s = suggestProfiles(histogram, k);
        const total = histogram.reduce((sum, h) => sum + h.count, 0);
        expect(s.requests).toBe(total);
        expect(s.buckets.reduce((sum, b) => sum + b.requests, 0)).toBe(total);
        const largest = [...histogram].sort((a, b) => volume(b.shape) - volume(a.shape))[0]!.shape;
        expect(bucketFor(s.buckets, largest)).toBeDefined();
        for (const h of histogram) expect(bucketFor(s.buckets, h.shape)).toBeDefined();
        // Buckets come smallest first and each serves someone.
        const volumes = s.buckets.map((b) => volume(b.shapes.x!));
        expect(volumes).toEqual([...volumes].sort((a, b) => a - b));
        for (const b of s.buckets) expect(b.requests).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });

  it('wastes nothing when there are at least as many engines as distinct shapes', () => {
    fc.assert(
      fc.property(anyArb, (histogram) => {
        const distinct = new Set(histogram.map((h) => h.shape.join('x')));
        const s = suggestProfiles(histogram, distinct.size + 2);
        expect(s.paddedElements).toBe(0);
        expect(s.wastePct).toBe(0);
        expect(s.distinctShapes).toBe(distinct.size);
        expect(new Set(s.buckets.map((b) => b.shapes.x!.join('x')))).toEqual(distinct);
      }),
      { numRuns: 200 },
    );
  });

  it('emits a profiles block that kiln.yaml accepts and routing agrees with', () => {
    fc.assert(
      fc.property(anyArb, fc.integer({ min: 1, max: 4 }), (histogram, k) => {
        const s = suggestProfiles(histogram, k);
        const block = profilesYaml(s.buckets);
        const config = parseConfig(
          `version: 1\nmodels:\n  - name: m\n    path: m.onnx\n${block.replace(/^/gm, '    ')}`,
          'kiln.yaml',
          '/tmp',
        );
        const profiles = config.models[0]!.profiles;
        expect(profiles.map((p) => p.name)).toEqual(s.buckets.map((b) => b.name));
        const paddable = { x: s.varying.map((v) => v.dim) };
        for (const h of histogram) {
          const route = routeShape(profiles, { x: h.shape }, { paddable });
          const served = s.buckets.find((b) => b.name === route.profile)!;
          expect(served.shapes.x).toEqual(bucketFor(s.buckets, h.shape));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('merges repeated shapes and refuses bad input', () => {
    const s = suggestProfiles(
      [
        { shape: [2, 8], count: 1 },
        { shape: [2, 8], count: 2.5 },
      ],
      3,
    );
    expect(s.buckets).toEqual([
      {
        name: 's2x8',
        shapes: { x: [2, 8] },
        requests: 3.5,
        realElements: 56,
        paddedElements: 0,
        wastePct: 0,
      },
    ]);
    expect(() => suggestProfiles([], 1)).toThrow('the histogram is empty');
    expect(() => suggestProfiles([{ shape: [1], count: 1 }], 0)).toThrow('engines: found 0');
    expect(() => suggestProfiles([{ shape: [1, 2], count: -1 }], 1)).toThrow(
      'shape 1 (1x2): count: found -1, expected a positive number of requests',
    );
    expect(() =>
      suggestProfiles(
        [
          { shape: [1, 2], count: 1 },
          { shape: [1, 2, 3], count: 1 },
        ],
        1,
      ),
    ).toThrow('shape 2 (x=1x2x3): x has rank 3, but shape 1 gives it rank 2');
    expect(() =>
      suggestProfiles(
        [
          { shape: { x: [1] }, count: 1 },
          { shape: { y: [1] }, count: 1 },
        ],
        1,
      ),
    ).toThrow('shape 2 (y=1) names inputs y, but shape 1 names x');
    expect(() => suggestProfiles([{ shape: { a: [1] }, count: 1 }], 1, { input: 'x' })).toThrow(
      "shape 1 (a=1) has no input 'x' (it has a)",
    );
    const only = suggestProfiles([{ shape: { x: [1, 5], y: [9] }, count: 1 }], 1, { input: 'x' });
    expect(only.buckets[0]!.shapes).toEqual({ x: [1, 5] });
  });
});

describe('parseShapeHistogram', () => {
  it('reads CSV with a header, comments and named shapes', () => {
    const text = '# observed last week\nshape,count\n1x3x384x512,120\n\n 1x3x640x640 , 7 \n"x=1x3;y=2",1\n';
    expect(parseShapeHistogram(text, 'h.csv')).toEqual([
      { shape: [1, 3, 384, 512], count: 120 },
      { shape: [1, 3, 640, 640], count: 7 },
      { shape: { x: [1, 3], y: [2] }, count: 1 },
    ]);
    expect(parseShapeHistogram('1,3,8,2\n', 'h.csv')).toEqual([{ shape: [1, 3, 8], count: 2 }]);
  });

  it('reads JSON arrays and objects', () => {
    const array = JSON.stringify([
      { shape: [1, 3, 8], count: 2 },
      { shape: '1x3x16', count: 1 },
      { shape: { x: [1, 3], y: '2x2' }, count: 4 },
    ]);
    expect(parseShapeHistogram(array, 'h.json')).toEqual([
      { shape: [1, 3, 8], count: 2 },
      { shape: [1, 3, 16], count: 1 },
      { shape: { x: [1, 3], y: [2, 2] }, count: 4 },
    ]);
    expect(parseShapeHistogram('{"1x3x8": 5, "1x3x9": 1}', 'h.json')).toEqual([
      { shape: [1, 3, 8], count: 5 },
      { shape: [1, 3, 9], count: 1 },
    ]);
  });

  it('names the line or entry at fault', () => {
    expect(() => parseShapeHistogram('1x3x8,2\n1x3x0,4\n', 'h.csv')).toThrow(
      'h.csv:2: shape "1x3x0": expected dims',
    );
    expect(() => parseShapeHistogram('1x3x8\n', 'h.csv')).toThrow(
      'h.csv:1: found "1x3x8", expected shape,count',
    );
    expect(() => parseShapeHistogram('1x3x8,lots\n', 'h.csv')).toThrow(
      'h.csv:1: count: found not a number, expected a positive number of requests',
    );
    expect(() => parseShapeHistogram('# nothing\n', 'h.csv')).toThrow('h.csv: no shapes found');
    expect(() => parseShapeHistogram('[{"shape": [1, -3], "count": 1}]', 'h.json')).toThrow(
      'h.json: [0].shape: found [1,-3], expected dims',
    );
    expect(() => parseShapeHistogram('[{"shape": [1], "count": 0}]', 'h.json')).toThrow(
      'h.json: [0].count: found 0',
    );
    expect(() => parseShapeHistogram('[1, 2', 'h.json')).toThrow('h.json: invalid JSON');
  });

  it('emits YAML that parses back to the buckets', () => {
    const block = profilesYaml([
      { name: 's8', shapes: { x: [1, 8], 'input ids': [2], y: [3] } },
      { name: 's9', shapes: { x: [1, 9], 'input ids': [2], y: [3] } },
    ]);
    expect(parse(block)).toEqual({
      profiles: [
        { name: 's8', shapes: { x: [1, 8], 'input ids': [2], y: [3] } },
        { name: 's9', shapes: { x: [1, 9], 'input ids': [2], y: [3] } },
      ],
    });
  });
});
