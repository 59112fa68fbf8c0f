import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { encodeFloat16Array } from '../../src/core/float16.js';
import { compareTensors, describeFailure, mergeWorst } from '../../src/core/tensor-compare.js';
import type { HostTensor } from '../../src/core/tensor.js';
import { defaultTolerance } from '../../src/core/tolerances.js';

const FP32 = { atol: 1e-4, rtol: 1e-3 };
const f32 = (shape: number[], values: number[]): HostTensor => ({
  dtype: 'float32',
  shape,
  data: new Float32Array(values),
});

describe('defaultTolerance', () => {
  it('returns the documented defaults as fresh objects', () => {
    expect(defaultTolerance('fp32')).toEqual({ atol: 1e-4, rtol: 1e-3 });
    expect(defaultTolerance('fp16')).toEqual({ atol: 1e-2, rtol: 1e-2 });
    expect(defaultTolerance('int8')).toEqual({ atol: 5e-2, rtol: 5e-2, minCosine: 0.98 });
    defaultTolerance('fp32').atol = 1;
    expect(defaultTolerance('fp32').atol).toBe(1e-4);
  });
});

describe('compareTensors', () => {
  it('computes the statistics of a hand-worked case', () => {
    const c = compareTensors('y', f32([2, 2], [1, 2, 3, 4]), f32([2, 2], [1, 2.5, 3, 4]), FP32);
    expect(c).toEqual({
      output: 'y',
      dtype: 'float32',
      shape: [2, 2],
      total: 4,
      maxAbsDiff: 0.5,
      maxRelDiff: 0.25,
      mismatches: 1,
      cosine: 31 / Math.sqrt(30 * 32.25),
      worstIndex: [0, 1],
      worstRef: 2,
      worstGot: 2.5,
      nanRef: 0,
      nanGot: 0,
      infRef: 0,
      infGot: 0,
      atol: 1e-4,
      rtol: 1e-3,
      pass: false,
    });
    expect(describeFailure(c)).toBe(
      "output 'y': 1 of 4 elements outside atol 1e-4 + rtol 1e-3 (max abs diff 0.5 at [0,1]: ref 2 got 2.5)",
    );
  });

  it('applies atol + rtol * |ref| per element, at the boundary inclusive', () => {
    const tol = { atol: 0.5, rtol: 0.25 };
    const ref: HostTensor = { dtype: 'float64', shape: [3], data: new Float64Array([0, 4, -4]) };
    const got: HostTensor = { dtype: 'float64', shape: [3], data: new Float64Array([0.5, 5.5, -5.6]) };
    const c = compareTensors('t', ref, got, tol);
    expect(c.mismatches).toBe(1);
    expect(c.worstIndex).toEqual([2]);
    expect(c.maxRelDiff).toBeCloseTo(0.5 / 1e-12, -3);
  });

  it('reproduces the report line for a large tensor', () => {
    const shape = [1, 1, 384, 384];
    const ref = new Float32Array(147456).fill(0.91);
    const got = ref.slice();
    for (let k = 0; k < 11; k++) got[1000 + k * 97] = 0.92;
    got[17 * 384 + 203] = 0.942;
    const c = compareTensors('sigmoid_0.tmp_0', f32(shape, [...ref]), f32(shape, [...got]), FP32);
    expect(describeFailure(c)).toBe(
      "output 'sigmoid_0.tmp_0': 12 of 147456 elements outside atol 1e-4 + rtol 1e-3 (max abs diff 3.2e-2 at [0,0,17,203]: ref 0.91 got 0.94)",
    );
    expect(c.cosine).toBeGreaterThan(0.9999);
  });

  it('prints enough digits to tell close values apart', () => {
    const c = compareTensors('y', f32([1], [0.9101]), f32([1], [0.9132]), FP32);
    expect(describeFailure(c)).toBe(
      "output 'y': 1 of 1 elements outside atol 1e-4 + rtol 1e-3 (max abs diff 3.1e-3 at [0]: ref 0.91 got 0.913)",
    );
  });

  it('describes a pass', () => {
    const c = compareTensors('y', f32([2], [1, 2]), f32([2], [1, 2.00001]), FP32);
    expect(c.pass).toBe(true);
    expect(describeFailure(c)).toBe(
      "output 'y': all 2 elements within atol 1e-4 + rtol 1e-3 (max abs diff 1e-5 at [1]: ref 2 got 2.00001)",
    );
    expect(describeFailure(compareTensors('z', f32([], [3]), f32([], [3]), FP32))).toBe(
      "output 'z': all 1 elements within atol 1e-4 + rtol 1e-3 (max abs diff 0)",
    );
  });

  it('fails on NaN on either side', () => {
    const got = compareTensors('y', f32([4], [1, 2, 3, 4]), f32([4], [NaN, 2, NaN, NaN]), FP32);
    expect(got).toMatchObject({ nanGot: 3, nanRef: 0, mismatches: 3, pass: false, maxAbsDiff: 0, cosine: 1 });
    expect(describeFailure(got)).toBe("output 'y': 3 NaN in engine output (reference has 0)");
    const ref = compareTensors('y', f32([2], [NaN, 1]), f32([2], [NaN, 1]), FP32);
    expect(ref).toMatchObject({ nanGot: 1, nanRef: 1, pass: false });
    const refOnly = compareTensors('y', f32([2], [NaN, 1]), f32([2], [0, 1]), FP32);
    expect(describeFailure(refOnly)).toBe("output 'y': 1 NaN in reference output (engine output has 0)");
  });

  it('passes matching infinities and fails the others', () => {
    const same = compareTensors(
      'y',
      f32([3], [Infinity, -Infinity, 1]),
      f32([3], [Infinity, -Infinity, 1]),
      FP32,
    );
    expect(same).toMatchObject({ infRef: 2, infGot: 2, mismatches: 0, pass: true, maxAbsDiff: 0 });
    const flipped = compareTensors('y', f32([2], [Infinity, 1]), f32([2], [-Infinity, 1]), FP32);
    expect(flipped).toMatchObject({ infRef: 1, infGot: 1, mismatches: 1, pass: false });
    const finite = compareTensors('y', f32([3], [1, 2, 3]), f32([3], [Infinity, 2, 3]), FP32);
    expect(finite).toMatchObject({ infRef: 0, infGot: 1, mismatches: 1, pass: false, worstIndex: [1] });
    expect(describeFailure(finite)).toBe(
      "output 'y': 1 of 3 elements outside atol 1e-4 + rtol 1e-3 (max abs diff 0); engine output has 1 Inf, reference has 0",
    );
  });

  it('defines cosine for zero tensors', () => {
    expect(compareTensors('y', f32([2], [0, 0]), f32([2], [0, 0]), FP32).cosine).toBe(1);
    expect(compareTensors('y', f32([2], [0, 0]), f32([2], [0, 1]), FP32).cosine).toBe(0);
    expect(compareTensors('y', f32([2], [1, 0]), f32([2], [-1, 0]), FP32).cosine).toBe(-1);
  });

  it('does not overflow cosine on huge float64 values', () => {
    const big: HostTensor = { dtype: 'float64', shape: [2], data: new Float64Array([1e300, 1e300]) };
    expect(compareTensors('y', big, big, FP32).cosine).toBe(1);
  });

  it('handles empty tensors, int64, float16 and bool', () => {
    const empty = compareTensors('e', f32([0, 3], []), f32([0, 3], []), FP32);
    expect(empty).toMatchObject({
      total: 0,
      pass: true,
      cosine: 1,
      worstIndex: [],
      worstRef: 0,
      worstGot: 0,
    });
    const i64 = (v: bigint[]): HostTensor => ({
      dtype: 'int64',
      shape: [v.length],
      data: new BigInt64Array(v),
    });
    expect(compareTensors('i', i64([1n, 2n]), i64([1n, 5n]), FP32)).toMatchObject({
      maxAbsDiff: 3,
      worstGot: 5,
    });
    const h = (v: number[]): HostTensor => ({
      dtype: 'float16',
      shape: [v.length],
      data: encodeFloat16Array(v),
    });
    expect(compareTensors('h', h([1, 2]), h([1, 2.001]), defaultTolerance('fp16'))).toMatchObject({
      maxAbsDiff: 2 ** -9, // 2.001 rounds to the next half above 2
      pass: true,
    });
    const b = (v: number[]): HostTensor => ({ dtype: 'bool', shape: [v.length], data: new Uint8Array(v) });
    expect(compareTensors('b', b([1, 0]), b([1, 1]), FP32)).toMatchObject({ mismatches: 1, worstIndex: [1] });
  });

  it('refuses shape and dtype mismatches with both sides named', () => {
    const error = (() => {
      try {
        compareTensors('boxes', f32([1, 3], [1, 2, 3]), f32([1, 4], [1, 2, 3, 4]), FP32);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      "output 'boxes': engine output is 1x4 float32, reference is 1x3 float32",
    );
    const i32: HostTensor = { dtype: 'int32', shape: [3], data: new Int32Array(3) };
    expect(() => compareTensors('y', f32([3], [0, 0, 0]), i32, FP32)).toThrow(
      "output 'y': engine output is 3 int32, reference is 3 float32",
    );
  });
});

describe('mergeWorst', () => {
  const base = compareTensors('y', f32([4], [1, 2, 3, 4]), f32([4], [1, 2, 3, 4]), FP32);
  const small = compareTensors('y', f32([4], [1, 2, 3, 4]), f32([4], [1, 2, 3, 4.00001]), FP32);
  const failing = compareTensors('y', f32([4], [1, 2, 3, 4]), f32([4], [1, 2, 3, 5]), FP32);
  const failingMore = compareTensors('y', f32([4], [1, 2, 3, 4]), f32([4], [1.1, 2.1, 3, 4.5]), FP32);
  const nan = compareTensors('y', f32([4], [1, 2, 3, 4]), f32([4], [NaN, 2, 3, 4]), FP32);

  it('keeps failures over passes, then NaN, mismatch fraction, max diff', () => {
    expect(mergeWorst(base, small)).toBe(small);
    expect(mergeWorst(small, base)).toBe(small);
    expect(mergeWorst(failing, small)).toBe(failing);
    expect(mergeWorst(failing, failingMore)).toBe(failingMore);
    expect(mergeWorst(failingMore, nan)).toBe(nan);
    expect(mergeWorst(base, { ...base })).toBe(base);
  });

  it('is a total preorder: the result is the same for any fold order', () => {
    const all = [base, small, failing, failingMore, nan];
    fc.assert(
      fc.property(fc.shuffledSubarray(all, { minLength: 5, maxLength: 5 }), (order) => {
        expect(order.reduce(mergeWorst)).toBe(nan);
      }),
    );
  });

  it('refuses to merge different outputs', () => {
    const other = { ...base, output: 'z' };
    expect(() => mergeWorst(base, other)).toThrow(
      "cannot merge comparisons of different outputs 'y' and 'z'",
    );
  });
});

const shapeArb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 });
const tensorArb = shapeArb.chain((shape) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e3, max: 1e3 }), {
    minLength: n,
    maxLength: n,
  });
  return values.map((v) => f32(shape, v));
});

function indexOf(flat: number, shape: number[]): number[] {
  const out: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    out.unshift(flat % (shape[d] as number));
    flat = Math.floor(flat / (shape[d] as number));
  }
  return out;
}

describe('compareTensors properties', () => {
  it('a tensor compared with itself passes with zero differences', () => {
    fc.assert(
      fc.property(tensorArb, (t) => {
        const c = compareTensors('y', t, t, FP32);
        expect(c).toMatchObject({ pass: true, mismatches: 0, maxAbsDiff: 0, maxRelDiff: 0 });
        expect(c.cosine === 1 || Math.abs(c.cosine - 1) < 1e-12).toBe(true);
      }),
    );
  });

  it('perturbing one element beyond tolerance flags it as the worst', () => {
    fc.assert(
      fc.property(
        tensorArb.chain((t) => fc.tuple(fc.constant(t), fc.nat(t.data.length - 1))),
        fc.double({ min: 1.5, max: 100, noNaN: true }),
        fc.boolean(),
        ([ref, at], factor, up) => {
          const r = ref.data[at] as number;
          const got = f32(ref.shape, [...(ref.data as Float32Array)]);
          const step = (FP32.atol + FP32.rtol * Math.abs(r)) * factor;
          got.data[at] = up ? r + step : r - step;
          fc.pre(Math.abs((got.data[at] as number) - r) > FP32.atol + FP32.rtol * Math.abs(r));
          const c = compareTensors('y', ref, got, FP32);
          expect(c.mismatches).toBeGreaterThanOrEqual(1);
          expect(c.pass).toBe(false);
          expect(c.worstIndex).toEqual(indexOf(at, ref.shape));
          expect(c.worstRef).toBe(r);
          expect(describeFailure(c)).toContain(`at [${indexOf(at, ref.shape).join(',')}]`);
        },
      ),
    );
  });
});
