import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/io/config-load.js';
import { InputError } from '../../src/core/errors.js';
import {
  parseDims,
  routeShape,
  varyingDims,
  type FixedRouteProfile,
  type RangedRouteProfile,
  type RouteProfile,
} from '../../src/core/shape-routing.js';

const s384: FixedRouteProfile = { name: 's384', shapes: { x: [1, 3, 384, 384] } };
const s640: FixedRouteProfile = { name: 's640', shapes: { x: [1, 3, 640, 640] } };
const b1to8: RangedRouteProfile = {
  name: 'b1-8',
  min: { x: [1, 3, 384, 384] },
  opt: { x: [4, 3, 384, 384] },
  max: { x: [8, 3, 384, 384] },
};
const det = [s384, s640, b1to8];

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a throw');
}

describe('fixed profiles', () => {
  it('pads up to the smallest profile that fits', () => {
    const route = routeShape(det, { x: [1, 3, 400, 400] });
    expect(route).toEqual({
      profile: 's640',
      padding: { x: [0, 0, 240, 240] },
      paddedElements: 3 * (640 * 640 - 400 * 400),
      wasteRatio: (640 * 640 - 400 * 400) / (640 * 640),
    });
    expect(routeShape(det, { x: [1, 3, 300, 384] })).toMatchObject({
      profile: 's384',
      padding: { x: [0, 0, 84, 0] },
      paddedElements: 3 * 84 * 384,
    });
  });

  it('serves an exact match without padding', () => {
    expect(routeShape(det, { x: [1, 3, 640, 640] })).toEqual({
      profile: 's640',
      padding: { x: [0, 0, 0, 0] },
      paddedElements: 0,
      wasteRatio: 0,
    });
  });

  it('pads batch when the profiles differ in batch', () => {
    const profiles = [s384, { name: 'b4', shapes: { x: [4, 3, 384, 384] } }];
    expect(routeShape(profiles, { x: [2, 3, 384, 384] })).toMatchObject({
      profile: 'b4',
      padding: { x: [2, 0, 0, 0] },
    });
    // Height and width are 384 in both profiles, so they are static here and a smaller image is refused.
    expect(() => routeShape(profiles, { x: [1, 3, 200, 200] })).toThrow('x dims 2,3 are not padded');
  });

  it('never pads a dim every profile agrees on, unless told it may', () => {
    // Channels are 3 in every profile: a 1-channel image is not padded to 3.
    expect(() => routeShape(det, { x: [1, 1, 384, 384] })).toThrow(
      'no profile of the model serves x=1x1x384x384 (largest: s640 1x3x640x640; ranged b1-8 allows 1x3x384x384 up to 8x3x384x384); x dim 1 is not padded (equal in every profile, so taken as static)',
    );
    // With one profile nothing varies, so by default only exact requests route…
    expect(() => routeShape([s640], { x: [1, 3, 400, 400] }, { model: 'ocr-det' })).toThrow(
      'x dims 2,3 are not padded (equal in every profile, so taken as static)',
    );
    // …and the caller names the dims that are dynamic.
    expect(routeShape([s640], { x: [1, 3, 400, 400] }, { paddable: { x: [2, 3] } })).toMatchObject({
      profile: 's640',
      padding: { x: [0, 0, 240, 240] },
    });
    expect(() => routeShape([s640], { x: [1, 3, 400, 640] }, { paddable: { x: [3] } })).toThrow(
      'x dim 2 is not padded (not listed as paddable)',
    );
  });

  it('takes the profiles straight from a parsed config', () => {
    const config = parseConfig(
      `version: 1
models:
  - name: ocr-det
    path: det.onnx
    profiles:
      - { name: s384, shapes: { x: [1, 3, 384, 384] } }
      - { name: s640, shapes: { x: [1, 3, 640, 640] } }
`,
      'kiln.yaml',
      '/tmp',
    );
    expect(routeShape(config.models[0]!.profiles, { x: [1, 3, 385, 10] }).profile).toBe('s640');
  });
});

describe('ranged profiles at their boundaries', () => {
  const spatial: RangedRouteProfile = {
    name: 'r320-640',
    min: { x: [1, 3, 320, 320] },
    opt: { x: [1, 3, 480, 480] },
    max: { x: [1, 3, 640, 640] },
  };

  it('accepts min, opt and max unpadded', () => {
    for (const profile of [b1to8, spatial]) {
      for (const shape of [profile.min.x!, profile.opt!.x!, profile.max.x!]) {
        expect(routeShape([profile], { x: [...shape] })).toEqual({
          profile: profile.name,
          padding: { x: [0, 0, 0, 0] },
          paddedElements: 0,
          wasteRatio: 0,
        });
      }
    }
  });

  it('refuses one past max and one below min, in every dim', () => {
    for (const profile of [b1to8, spatial]) {
      const min = profile.min.x!;
      const max = profile.max.x!;
      for (let i = 0; i < 4; i++) {
        const past = max.map((d, j) => (j === i ? d + 1 : d));
        expect(() => routeShape([profile], { x: past }, { model: 'm' })).toThrow(
          `no profile of model m serves x=${past.join('x')} (ranged ${profile.name} allows up to ${max.join('x')})`,
        );
        if (min[i]! > 1) {
          const below = min.map((d, j) => (j === i ? d - 1 : d));
          expect(() => routeShape([profile], { x: below })).toThrow(
            `(ranged ${profile.name} allows ${min.join('x')} up to ${max.join('x')})`,
          );
        }
      }
    }
  });

  it('wins over padding, even when listed after a fixed profile that fits', () => {
    expect(routeShape(det, { x: [3, 3, 384, 384] }).profile).toBe('b1-8');
    const profiles = [{ name: 'b8', shapes: { x: [8, 3, 384, 384] } }, b1to8];
    expect(routeShape(profiles, { x: [2, 3, 384, 384] }).profile).toBe('b1-8');
    // Both take the request as is: the earlier profile wins.
    expect(routeShape(det, { x: [1, 3, 384, 384] }).profile).toBe('s384');
    expect(routeShape([b1to8, s384], { x: [1, 3, 384, 384] }).profile).toBe('b1-8');
  });
});

describe('ties and refusals', () => {
  it('breaks ties in padding by profile order', () => {
    const tall = { name: 'tall', shapes: { x: [1, 3, 640, 400] } };
    const wide = { name: 'wide', shapes: { x: [1, 3, 400, 640] } };
    expect(routeShape([tall, wide], { x: [1, 3, 400, 400] }).profile).toBe('tall');
    expect(routeShape([wide, tall], { x: [1, 3, 400, 400] }).profile).toBe('wide');
  });

  it('names the largest fixed profile and each ranged one when none fits', () => {
    const run = () => routeShape(det, { x: [1, 3, 900, 900] }, { model: 'ocr-det' });
    expect(run).toThrow(InputError);
    expect(messageOf(run)).toBe(
      'no profile of model ocr-det serves x=1x3x900x900 (largest: s640 1x3x640x640; ranged b1-8 allows up to 8x3x384x384)',
    );
  });

  it('refuses unknown, missing and malformed inputs in one line', () => {
    const two: RouteProfile[] = [{ name: 'p', shapes: { x: [1, 8], ids: [1, 4] } }];
    expect(() => routeShape(two, { x: [1, 8], ids: [1, 4], z: [1] }, { model: 'm' })).toThrow(
      "model m has no input 'z' (inputs: x, ids)",
    );
    expect(() => routeShape(two, { x: [1, 8] }, { model: 'm' })).toThrow(
      "no shape given for input 'ids' of model m (inputs: x, ids)",
    );
    expect(() => routeShape(two, { x: [1, 8, 1], ids: [1, 4] }, { model: 'm' })).toThrow(
      'x=1x8x1 has rank 3, but the profiles of model m give x rank 2',
    );
    for (const bad of [[0, 8], [1, -2], [1, 1.5], [], [1, NaN]]) {
      expect(() => routeShape(two, { x: bad, ids: [1, 4] })).toThrow(
        "input 'x' of the model: found " + JSON.stringify(bad),
      );
    }
    expect(() => routeShape([], { x: [1] })).toThrow('the model has no profiles to route to');
    expect(routeShape(two, { ids: [1, 4], x: [1, 8] }).profile).toBe('p');
  });

  it('parses dims as written on a command line', () => {
    expect(parseDims('1x3x400x400')).toEqual([1, 3, 400, 400]);
    expect(parseDims('1,3, 400,400')).toEqual([1, 3, 400, 400]);
    expect(parseDims('8')).toEqual([8]);
    for (const bad of ['', '1x', 'x1', '1x0', '1x-3', '1x3.5', 'axb', '1xx2'])
      expect(parseDims(bad)).toBeUndefined();
  });
});

// Property: an independent oracle of "fits" and "padding" agrees with routeShape's choice.
const RANK = 3;
const dimArb = fc.integer({ min: 1, max: 6 });
const shapeArb = fc.array(dimArb, { minLength: RANK, maxLength: RANK });
const profileArb: fc.Arbitrary<RouteProfile> = fc.oneof(
  shapeArb.map((s) => ({ name: '', shapes: { x: s } })),
  fc.tuple(shapeArb, shapeArb).map(([a, b]) => {
    const min = a.map((d, i) => Math.min(d, b[i]!));
    const max = a.map((d, i) => Math.max(d, b[i]!));
    return { name: '', min: { x: min }, opt: { x: max }, max: { x: max } };
  }),
);
const profilesArb = fc
  .array(profileArb, { minLength: 1, maxLength: 6 })
  .map((ps) => ps.map((p, i) => ({ ...p, name: `p${i}` })));

/** Padded elements if `p` serves `r`, else undefined; `paddable` lists the dims that may grow. */
function oracle(p: RouteProfile, r: number[], paddable: number[]): number | undefined {
  if ('min' in p) {
    const ok = r.every((d, i) => p.min.x![i]! <= d && d <= p.max.x![i]!);
    return ok ? 0 : undefined;
  }
  const f = p.shapes.x!;
  const ok = r.every((d, i) => d === f[i] || (d < f[i]! && paddable.includes(i)));
  return ok ? f.reduce((a, b) => a * b, 1) - r.reduce((a, b) => a * b, 1) : undefined;
}

describe('routeShape (property)', () => {
  it('covers the request, and no fitting profile pads less (nor as little and earlier)', () => {
    fc.assert(
      fc.property(
        profilesArb,
        shapeArb,
        fc.option(fc.subarray([0, 1, 2]), { nil: undefined }),
        (profiles, request, explicit) => {
          const paddable =
            explicit ??
            [0, 1, 2].filter((i) => {
              const values = new Set(
                profiles.flatMap((p) => ('min' in p ? [p.min.x![i], p.max.x![i]] : [p.shapes.x![i]])),
              );
              return values.size > 1;
            });
          if (explicit === undefined) expect(varyingDims(profiles).x).toEqual(paddable);
          const fits = profiles.map((p) => oracle(p, request, paddable));
          const options = explicit === undefined ? {} : { paddable: { x: explicit } };
          if (fits.every((f) => f === undefined)) {
            expect(() => routeShape(profiles, { x: request }, options)).toThrow(
              /^no profile of the model serves/,
            );
            return;
          }
          const route = routeShape(profiles, { x: request }, options);
          const at = profiles.findIndex((p) => p.name === route.profile);
          const chosen = profiles[at]!;
          expect(fits[at]).toBe(route.paddedElements);
          const padded = request.map((d, i) => d + route.padding.x![i]!);
          if ('min' in chosen) expect(route.padding.x).toEqual([0, 0, 0]);
          else expect(padded).toEqual(chosen.shapes.x);
          fits.forEach((f, i) => {
            if (f === undefined) return;
            expect(f).toBeGreaterThanOrEqual(route.paddedElements);
            if (i < at) expect(f).toBeGreaterThan(route.paddedElements);
          });
          const real = request.reduce((a, b) => a * b, 1);
          expect(route.wasteRatio).toBeCloseTo(route.paddedElements / (real + route.paddedElements), 12);
        },
      ),
      { numRuns: 500 },
    );
  });
});
