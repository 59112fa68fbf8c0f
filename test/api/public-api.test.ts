import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import {
  formatDims,
  formatShapes,
  InputError,
  KilnError,
  parseDims,
  parseShapeHistogram,
  profileFit,
  profilesYaml,
  routeShape,
  suggestProfiles,
  varyingDims,
  type RouteProfile,
} from '../../src/index.js';

/**
 * The library surface (`import … from 'kiln-ml'`, docs/api.md) as serving code uses it: from a
 * request-shape histogram to profiles, and from a request to the engine that serves it.
 */

describe('kiln-ml public API', () => {
  it('exports exactly the documented functions and error classes', () => {
    // Removing or renaming one breaks users' imports; adding one makes it a supported contract.
    expect(Object.keys(kiln).sort()).toEqual(
      [
        'InputError',
        'KilnError',
        'formatDims',
        'formatShapes',
        'isRangedProfile',
        'parseDims',
        'parseShapeHistogram',
        'profileFit',
        'profileInputs',
        'profilesYaml',
        'routeShape',
        'suggestProfiles',
        'varyingDims',
      ].sort(),
    );
  });

  it('profiles suggested from a histogram route every observed request with the waste it predicted', () => {
    const histogram = parseShapeHistogram(
      ['shape,count', '1x3x320x320,50', '1x3x320x480,30', '1x3x480x640,15', '1x3x640x640,5'].join('\n'),
      'shapes.csv',
    );
    const suggestion = suggestProfiles(histogram, 2, { input: 'image' });
    // The YAML goes into kiln.yaml; read it back the way the config loader would see it.
    const { profiles } = parse(profilesYaml(suggestion.buckets)) as { profiles: RouteProfile[] };
    expect(profiles.map((p) => p.name)).toEqual(suggestion.buckets.map((b) => b.name));

    let padded = 0;
    for (const { shape, count } of histogram) {
      const route = routeShape(profiles, { image: shape as number[] }, { model: 'det' });
      padded += count * route.paddedElements;
      const served = profiles.find((p) => p.name === route.profile)!;
      expect(profileFit(served, { image: shape as number[] }, varyingDims(profiles))).toEqual({
        padding: route.padding,
        paddedElements: route.paddedElements,
      });
    }
    expect(padded).toBe(suggestion.paddedElements);
    expect(suggestion.buckets).toHaveLength(2);
  });

  it('routes to the profile with least padding, and a ranged profile serves its range unpadded', () => {
    const profiles: RouteProfile[] = [
      { name: 'small', min: { x: [1, 16] }, max: { x: [4, 16] } },
      { name: 'b8', shapes: { x: [8, 16] } },
      { name: 'b32', shapes: { x: [32, 16] } },
    ];
    expect(varyingDims(profiles)).toEqual({ x: [0] });
    expect(routeShape(profiles, { x: [3, 16] })).toEqual({
      profile: 'small',
      padding: { x: [0, 0] },
      paddedElements: 0,
      wasteRatio: 0,
    });
    expect(routeShape(profiles, { x: [6, 16] })).toMatchObject({
      profile: 'b8',
      padding: { x: [2, 0] },
      paddedElements: 32,
      wasteRatio: 0.25,
    });
    expect(routeShape(profiles, { x: [9, 16] }).profile).toBe('b32');
  });

  it('throws one-line InputErrors (exit code 2) that serving code can catch apart from bugs', () => {
    const profiles: RouteProfile[] = [{ name: 'b8', shapes: { x: [8, 16] } }];
    const failures = [
      () => routeShape(profiles, { x: [9, 16] }, { model: 'cls' }),
      () => routeShape(profiles, { y: [1, 16] }, { model: 'cls' }),
      () => routeShape(profiles, { x: [1, 8] }, { model: 'cls' }),
      () => parseShapeHistogram('1x3x0x4,10', 'shapes.csv'),
    ];
    const messages = failures.map((fail) => {
      try {
        fail();
      } catch (error) {
        expect(error).toBeInstanceOf(InputError);
        expect(error).toBeInstanceOf(KilnError);
        expect((error as KilnError).exitCode).toBe(2);
        return (error as Error).message;
      }
      throw new Error('expected an InputError');
    });
    for (const message of messages) expect(message).not.toContain('\n');
    expect(messages[0]).toMatch(/model cls.*9x16/);
    expect(messages[1]).toMatch(/no input 'y'/);
    expect(messages[2]).toMatch(/x=1x8/);
    expect(messages[3]).toMatch(/^shapes\.csv/);
  });

  it('parses and prints dims the way the CLI and histograms write them', () => {
    expect(parseDims('1×3×384×512')).toEqual([1, 3, 384, 512]);
    expect(parseDims('1, 3, 384')).toEqual([1, 3, 384]);
    expect(parseDims('1x0x4')).toBeUndefined();
    expect(parseDims('1x-3')).toBeUndefined();
    expect(formatDims(parseDims('2x3x4')!)).toBe('2x3x4');
    expect(formatShapes({ image: [1, 3, 8, 8], mask: [1, 8] })).toBe('image=1x3x8x8 mask=1x8');
  });
});
