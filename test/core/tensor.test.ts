import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { encodeFloat16Array } from '../../src/core/float16.js';
import {
  allocateTensor,
  bytesPerElement,
  elementCount,
  formatShape,
  isTensorDtype,
  sameShape,
  TENSOR_DTYPES,
  toFloat64,
} from '../../src/core/tensor.js';

describe('tensor helpers', () => {
  it('counts elements, scalars included', () => {
    expect(elementCount([1, 3, 384, 384])).toBe(442368);
    expect(elementCount([])).toBe(1);
    expect(elementCount([2, 0, 5])).toBe(0);
  });

  it('refuses shapes that are not sizes', () => {
    expect(() => elementCount([1, -1])).toThrow(InputError);
    expect(() => elementCount([1, -1])).toThrow('invalid tensor shape [1, -1]: dimension -1 is not a size');
    expect(() => elementCount([1.5])).toThrow('dimension 1.5 is not a size');
    expect(() => elementCount([2 ** 30, 2 ** 30])).toThrow('invalid tensor shape 1073741824x1073741824');
  });

  it('formats shapes', () => {
    expect(formatShape([1, 3, 384, 384])).toBe('1x3x384x384');
    expect(formatShape([7])).toBe('7');
    expect(formatShape([])).toBe('scalar');
  });

  it('compares shapes', () => {
    expect(sameShape([1, 2], [1, 2])).toBe(true);
    expect(sameShape([1, 2], [2, 1])).toBe(false);
    expect(sameShape([1], [1, 1])).toBe(false);
    expect(sameShape([], [])).toBe(true);
  });

  it('allocates the ORT data type of each dtype, zero-filled, with a copied shape', () => {
    const expected = {
      float32: Float32Array,
      float16: Uint16Array,
      float64: Float64Array,
      int64: BigInt64Array,
      int32: Int32Array,
      int16: Int16Array,
      int8: Int8Array,
      uint64: BigUint64Array,
      uint32: Uint32Array,
      uint16: Uint16Array,
      uint8: Uint8Array,
      bool: Uint8Array,
    };
    for (const dtype of TENSOR_DTYPES) {
      const shape = [2, 3];
      const t = allocateTensor(dtype, shape);
      expect(t.data).toBeInstanceOf(expected[dtype]);
      expect(t.data).toHaveLength(6);
      expect(t.data.BYTES_PER_ELEMENT).toBe(bytesPerElement(dtype));
      shape[0] = 9;
      expect(t.shape).toEqual([2, 3]);
    }
  });

  it('recognises dtype names', () => {
    expect(isTensorDtype('float16')).toBe(true);
    expect(isTensorDtype('uint16')).toBe(true);
    expect(isTensorDtype('bfloat16')).toBe(false);
    expect(isTensorDtype('string')).toBe(false);
  });

  it('converts every dtype to float64', () => {
    expect([
      ...toFloat64({ dtype: 'float16', shape: [4], data: encodeFloat16Array([1.5, -0, Infinity, 2 ** -24]) }),
    ]).toEqual([1.5, -0, Infinity, 2 ** -24]);
    expect(
      Number.isNaN(toFloat64({ dtype: 'float16', shape: [1], data: new Uint16Array([0x7e00]) })[0]),
    ).toBe(true);
    expect([
      ...toFloat64({ dtype: 'int64', shape: [2], data: new BigInt64Array([-(2n ** 40n), 7n]) }),
    ]).toEqual([-(2 ** 40), 7]);
    expect([...toFloat64({ dtype: 'int8', shape: [2], data: new Int8Array([-128, 127]) })]).toEqual([
      -128, 127,
    ]);
    expect([...toFloat64({ dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) })]).toEqual([1, 0]);
    fc.assert(
      fc.property(fc.float32Array(), (data) => {
        const out = toFloat64({ dtype: 'float32', shape: [data.length], data });
        data.forEach((v, i) => expect(Object.is(out[i], v)).toBe(true));
      }),
    );
  });
});
