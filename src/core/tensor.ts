/**
 * The host tensor every part of kiln passes around. Its dtype names and data array types are the
 * ones onnxruntime-node's `Tensor` uses, so crossing into ORT is a constructor call, not a copy.
 */
import { InputError } from './errors.js';
import { fromFloat16Bits } from './float16.js';

/** Element types kiln handles; the names match onnxruntime-node's `Tensor.type`. */
export type TensorDtype =
  | 'float32'
  | 'float16'
  | 'float64'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint64'
  | 'uint32'
  | 'uint16'
  | 'uint8'
  | 'bool';

/** Backing storage: float16 is a Uint16Array of IEEE half bits, bool is a Uint8Array of 0/1. */
export type TensorData =
  | Float32Array
  | Float64Array
  | Uint16Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/** A dense, C-ordered tensor in host memory. `shape` [] is a scalar holding one element. */
export interface HostTensor {
  dtype: TensorDtype;
  shape: number[];
  data: TensorData;
}

/** Every supported dtype, in the order error messages list them. */
export const TENSOR_DTYPES: readonly TensorDtype[] = [
  'float32',
  'float16',
  'float64',
  'int64',
  'int32',
  'int16',
  'int8',
  'uint64',
  'uint32',
  'uint16',
  'uint8',
  'bool',
];

const BYTES_PER_ELEMENT: Record<TensorDtype, number> = {
  float32: 4,
  float16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint64: 8,
  uint32: 4,
  uint16: 2,
  uint8: 1,
  bool: 1,
};

/** Whether `value` names a supported dtype; narrows strings coming from files or ORT metadata. */
export function isTensorDtype(value: string): value is TensorDtype {
  return (TENSOR_DTYPES as readonly string[]).includes(value);
}

/** Bytes one element of `dtype` occupies. */
export function bytesPerElement(dtype: TensorDtype): number {
  return BYTES_PER_ELEMENT[dtype];
}

/** "1x3x384x384"; a scalar (shape []) prints as "scalar" so messages never show an empty string. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 0 ? 'scalar' : shape.join('x');
}

/**
 * Number of elements of `shape` (1 for a scalar). Throws an InputError for a dimension that is not a
 * non-negative safe integer, since such a shape can only come from a bad file or config.
 */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new InputError(`invalid tensor shape [${shape.join(', ')}]: dimension ${dim} is not a size`);
    }
    count *= dim;
  }
  if (!Number.isSafeInteger(count)) {
    throw new InputError(`invalid tensor shape ${formatShape(shape)}: ${count} elements is too many`);
  }
  return count;
}

/** A zero-filled data array of `length` elements for `dtype`. */
export function allocateData(dtype: TensorDtype, length: number): TensorData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(length);
    case 'float16':
      return new Uint16Array(length);
    case 'float64':
      return new Float64Array(length);
    case 'int64':
      return new BigInt64Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'int16':
      return new Int16Array(length);
    case 'int8':
      return new Int8Array(length);
    case 'uint64':
      return new BigUint64Array(length);
    case 'uint32':
      return new Uint32Array(length);
    case 'uint16':
      return new Uint16Array(length);
    case 'uint8':
    case 'bool':
      return new Uint8Array(length);
  }
}

/** A zero-filled tensor; `shape` is copied so later edits of the caller's array cannot desync it. */
export function allocateTensor(dtype: TensorDtype, shape: readonly number[]): HostTensor {
  return { dtype, shape: [...shape], data: allocateData(dtype, elementCount(shape)) };
}

/**
 * Every element as a double, for comparison and statistics. float16 is decoded from its bits;
 * int64/uint64 go through Number, so magnitudes beyond 2^53 lose low bits (harmless for comparisons).
 */
export function toFloat64(t: HostTensor): Float64Array {
  const { data } = t;
  const out = new Float64Array(data.length);
  if (t.dtype === 'float16') {
    for (let i = 0; i < data.length; i++) out[i] = fromFloat16Bits(data[i] as number);
  } else if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i] as bigint);
  } else {
    out.set(data);
  }
  return out;
}

/** Whether two shapes are identical, dimension by dimension. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}
