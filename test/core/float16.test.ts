import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFloat16Array,
  encodeFloat16Array,
  fromFloat16Bits,
  toFloat16Bits,
} from '../../src/core/float16.js';
import { parseNpy } from '../../src/core/npy.js';

const fixture = (name: string) => parseNpy(readFileSync(`test/fixtures/npy/${name}`), name);

/** Exponent all ones with a non-zero mantissa: NaN payloads all decode to the one NaN. */
const isNaNBits = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

describe('float16', () => {
  it('decodes the landmarks', () => {
    expect(fromFloat16Bits(0x0000)).toBe(0);
    expect(Object.is(fromFloat16Bits(0x8000), -0)).toBe(true);
    expect(fromFloat16Bits(0x3c00)).toBe(1);
    expect(fromFloat16Bits(0xc000)).toBe(-2);
    expect(fromFloat16Bits(0x7bff)).toBe(65504);
    expect(fromFloat16Bits(0x0400)).toBe(2 ** -14);
    expect(fromFloat16Bits(0x0001)).toBe(2 ** -24);
    expect(fromFloat16Bits(0x03ff)).toBe(1023 * 2 ** -24);
    expect(fromFloat16Bits(0x7c00)).toBe(Infinity);
    expect(fromFloat16Bits(0xfc00)).toBe(-Infinity);
    expect(fromFloat16Bits(0x7e00)).toBeNaN();
    expect(fromFloat16Bits(0xfc01)).toBeNaN();
  });

  it('encodes the landmarks', () => {
    expect(toFloat16Bits(0)).toBe(0);
    expect(toFloat16Bits(-0)).toBe(0x8000);
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(65519.99)).toBe(0x7bff);
    expect(toFloat16Bits(65520)).toBe(0x7c00);
    expect(toFloat16Bits(-1e9)).toBe(0xfc00);
    expect(toFloat16Bits(Infinity)).toBe(0x7c00);
    expect(toFloat16Bits(NaN)).toBe(0x7e00);
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001);
    // Exactly half the smallest subnormal ties to even (zero); anything above rounds up.
    expect(toFloat16Bits(2 ** -25)).toBe(0);
    expect(toFloat16Bits(2 ** -25 * 1.0001)).toBe(1);
    expect(toFloat16Bits(3 * 2 ** -25)).toBe(2);
    // 1 + 2^-11 is the midpoint between 1 and the next half: ties to the even mantissa (1).
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    // Largest subnormal rounding up carries into the smallest normal.
    expect(toFloat16Bits(2 ** -14 - 2 ** -26)).toBe(0x0400);
  });

  it('round-trips every non-NaN half exactly (exhaustive)', () => {
    for (let h = 0; h < 0x10000; h++) {
      if (isNaNBits(h)) continue;
      expect(toFloat16Bits(fromFloat16Bits(h))).toBe(h);
    }
  });

  it("matches numpy's astype(float16) on ties, overflow and subnormal cases", () => {
    const input = fixture('f16_cases_f4.npy');
    const expected = fixture('f16_cases_f2.npy');
    expect(input.data.length).toBe(212);
    expect([...encodeFloat16Array(input.data as Float32Array)]).toEqual([...(expected.data as Uint16Array)]);
  });

  it('rounds any float32 to a nearest half, ties to even', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, min: -65504, max: 65504 }), (x) => {
        const h = toFloat16Bits(x);
        const v = fromFloat16Bits(h);
        // Neighbours in magnitude; the encoded value must be at least as close as both.
        const up = fromFloat16Bits(h + 1);
        const down = (h & 0x7fff) === 0 ? -v : fromFloat16Bits(h - 1);
        const err = Math.abs(x - v);
        expect(err).toBeLessThanOrEqual(Math.abs(x - up));
        expect(err).toBeLessThanOrEqual(Math.abs(x - down));
        const tie = err !== 0 && (err === Math.abs(x - up) || err === Math.abs(x - down));
        if (tie) expect(h & 1).toBe(0);
        if (v !== 0) expect(Math.sign(v)).toBe(Math.sign(x));
      }),
      { numRuns: 5000 },
    );
  });

  it('array helpers agree with the scalar ones', () => {
    fc.assert(
      fc.property(fc.array(fc.float()), (xs) => {
        const bits = encodeFloat16Array(xs);
        const back = decodeFloat16Array(bits);
        xs.forEach((x, i) => {
          expect(bits[i]).toBe(toFloat16Bits(x));
          expect(Object.is(back[i], Math.fround(fromFloat16Bits(toFloat16Bits(x))))).toBe(true);
        });
      }),
    );
  });
});
