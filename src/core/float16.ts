/**
 * IEEE 754 binary16 ("half") conversion. ORT and NumPy both carry float16 data as raw 16-bit
 * patterns, so kiln keeps them as `Uint16Array` and converts only when it needs arithmetic.
 *
 * Encoding rounds to nearest, ties to even, directly from the JS number (a double). Rounding once
 * from the double avoids the double-rounding error of going double -> float32 -> float16, and is
 * identical for inputs that already are float32 values.
 */

const HALF_NAN = 0x7e00;
const HALF_INF = 0x7c00;
/** Smallest positive normal half, 2^-14. */
const MIN_NORMAL = 2 ** -14;
/** The halfway point between the largest finite half (65504) and 2^16; it and above round to Inf. */
const OVERFLOW_THRESHOLD = 65520;

/** Rounds a non-negative number to an integer, ties to even. */
function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const frac = v - floor;
  if (frac > 0.5) return floor + 1;
  if (frac < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Encodes a number as the bit pattern of the nearest float16 (ties to even). NaN becomes the
 * canonical quiet NaN 0x7e00; the sign of zero is kept.
 */
export function toFloat16Bits(value: number): number {
  if (Number.isNaN(value)) return HALF_NAN;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const a = Math.abs(value);
  if (a >= OVERFLOW_THRESHOLD) return sign | HALF_INF;
  if (a < MIN_NORMAL) {
    // Subnormal step is 2^-24; scaling by a power of two is exact, so only the final rounding
    // loses information. A result of 1024 carries into the smallest normal, which is the right bits.
    return sign | roundHalfEven(a * 2 ** 24);
  }
  // Math.log2 can be off by one ulp near powers of two, so correct the exponent against exact powers.
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  else if (2 ** (e + 1) <= a) e += 1;
  let mantissa = roundHalfEven((a / 2 ** e - 1) * 1024);
  if (mantissa === 1024) {
    mantissa = 0;
    e += 1;
  }
  // e <= 15 here: values that would round past 65504 were caught by OVERFLOW_THRESHOLD.
  return sign | ((e + 15) << 10) | mantissa;
}

/** Decodes a float16 bit pattern (the low 16 bits of `bits`), subnormals, Inf and NaN included. */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** Encodes every element of `values` as float16 bits. */
export function encodeFloat16Array(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toFloat16Bits(values[i] as number);
  return out;
}

/** Decodes float16 bits into float32 values; every half is exactly representable in float32. */
export function decodeFloat16Array(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = fromFloat16Bits(bits[i] as number);
  return out;
}
