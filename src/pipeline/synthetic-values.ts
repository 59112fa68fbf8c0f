/**
 * Synthetic inputs a model can actually run when random numbers would not do: an input that takes
 * only a few values (a sample rate), or an attention mask. Plain ranges are `synthesizeTensor`'s.
 */
import { toFloat16Bits } from '../core/float16.js';
import type { SeededRandom } from '../core/seeded-random.js';
import { allocateTensor, type HostTensor, type TensorDtype } from '../core/tensor.js';

function put(t: HostTensor, index: number, value: number): void {
  if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) t.data[index] = BigInt(value);
  else t.data[index] = t.dtype === 'float16' ? toFloat16Bits(value) : value;
}

/** A tensor whose every element is drawn uniformly from `values` (for a scalar: one of them). */
export function pickValues(
  rng: SeededRandom,
  dtype: TensorDtype,
  shape: readonly number[],
  values: readonly number[],
): HostTensor {
  const t = allocateTensor(dtype, shape);
  for (let i = 0; i < t.data.length; i++) {
    put(t, i, values[Math.min(values.length - 1, Math.floor(rng.nextFloat() * values.length))]!);
  }
  return t;
}

/**
 * An attention mask: along the last axis each row is 1 for a leading run of random length (at least
 * one, so no row is all padding, which many models turn into NaN), then 0 (right padding).
 */
export function attentionMask(rng: SeededRandom, dtype: TensorDtype, shape: readonly number[]): HostTensor {
  const t = allocateTensor(dtype, shape);
  const length = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  if (length === 0) return t;
  for (let row = 0; row < t.data.length / length; row++) {
    const ones = 1 + Math.floor(rng.nextFloat() * length);
    for (let i = 0; i < ones; i++) put(t, row * length + i, 1);
  }
  return t;
}
