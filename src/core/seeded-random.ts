/**
 * Deterministic random numbers for synthetic golden inputs. The same seed must give the same
 * tensors on every machine and Node version, so this avoids Math.random and any platform source.
 *
 * Generator: xoshiro128** 1.1 (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c),
 * four 32-bit state words filled by a splitmix32-style sequence (golden-ratio increment, then a
 * 16/15/15 xorshift-multiply mixer) so that nearby seeds (0, 1, 2...) start from unrelated states.
 * Chosen over mulberry32 for its 2^128 - 1 period: tensors hold millions of elements.
 *
 * Changing anything here changes every synthetic golden input, so the test pins the output stream.
 */
import { InputError } from './errors.js';
import { toFloat16Bits } from './float16.js';
import { allocateTensor, formatShape } from './tensor.js';
import type { HostTensor, TensorDtype } from './tensor.js';

/** A seeded xoshiro128** generator. */
export class SeededRandom {
  private readonly s = new Uint32Array(4);
  private spare: number | undefined;

  /** `seed` is any number; it is reduced to 32 bits, so seeds equal mod 2^32 give equal streams. */
  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32: the state increment, then an avalanche mix.
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      this.s[i] = z ^ (z >>> 15);
    }
    // An all-zero state would stay zero forever.
    if (this.s.every((w) => w === 0)) this.s[0] = 1;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1] as number, 5), 7), 9) >>> 0;
    const t = (s[1] as number) << 9;
    s[2] = (s[2] as number) ^ (s[0] as number);
    s[3] = (s[3] as number) ^ (s[1] as number);
    s[1] = (s[1] as number) ^ (s[2] as number);
    s[0] = (s[0] as number) ^ (s[3] as number);
    s[2] = (s[2] as number) ^ t;
    s[3] = rotl(s[3] as number, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits, so every double in the unit interval grid is reachable. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 2 ** 26 + lo) / 2 ** 53;
  }

  /** Standard normal (mean 0, variance 1), Box-Muller; the second value of each pair is kept. */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    const u = 1 - this.nextFloat(); // (0, 1]: log(0) would be -Infinity
    const v = this.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Representable integer range per integer dtype; int64 stops at 2^53 so values stay exact numbers. */
const INT_LIMITS: Partial<Record<TensorDtype, [number, number]>> = {
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int16: [-32768, 32767],
  int8: [-128, 127],
  uint64: [0, Number.MAX_SAFE_INTEGER],
  uint32: [0, 2 ** 32 - 1],
  uint16: [0, 65535],
  uint8: [0, 255],
  bool: [0, 1],
};

const FLOAT_LIMITS: Partial<Record<TensorDtype, number>> = { float16: 65504, float32: 3.4028234663852886e38 };

/**
 * A tensor filled uniformly within [range.min, range.max]. Float dtypes are uniform, clamped to the
 * dtype's finite range and rounded to it; integer dtypes (and bool) are uniform over the integers in the range, clamped to what
 * the dtype holds; a range containing no integer (e.g. [0.2, 0.8]) yields its rounded midpoint.
 */
export function synthesizeTensor(
  rng: SeededRandom,
  dtype: TensorDtype,
  shape: readonly number[],
  range: { min: number; max: number },
): HostTensor {
  const { min, max } = range;
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new InputError(`invalid value range [${min}, ${max}] for a ${formatShape(shape)} ${dtype} tensor`);
  }
  const t = allocateTensor(dtype, shape);
  const { data } = t;
  const limits = INT_LIMITS[dtype];
  if (limits === undefined) {
    // Keep within the dtype's finite range, or an over-wide range would synthesize infinities.
    const limit = FLOAT_LIMITS[dtype] ?? Number.MAX_VALUE;
    const [a, b] = [min, max].map((v) => Math.min(limit, Math.max(-limit, v))) as [number, number];
    const span = b - a;
    for (let i = 0; i < data.length; i++) {
      const u = rng.nextFloat();
      // The two-term form cannot overflow when b - a exceeds Number.MAX_VALUE.
      const v = Math.min(b, Number.isFinite(span) ? a + span * u : a * (1 - u) + b * u);
      data[i] = dtype === 'float16' ? toFloat16Bits(v) : v;
    }
    return t;
  }
  const clamp = (v: number) => Math.min(limits[1], Math.max(limits[0], v));
  let lo = clamp(Math.ceil(min));
  let hi = clamp(Math.floor(max));
  if (lo > hi) lo = hi = clamp(Math.round((min + max) / 2));
  const count = hi - lo + 1;
  for (let i = 0; i < data.length; i++) {
    // min(): u * count can round up to count itself when count is near 2^53.
    const v = Math.min(hi, lo + Math.floor(rng.nextFloat() * count));
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[i] = BigInt(v);
    else data[i] = v;
  }
  return t;
}
