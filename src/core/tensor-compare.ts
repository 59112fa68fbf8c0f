/**
 * Compares an engine's output with the reference output, element by element, and reduces the
 * result to the `TensorComparison` the golden gate and the report use.
 *
 * Difference statistics (max abs/rel diff, cosine, worst element) are taken over elements that are
 * finite on both sides, so they stay finite numbers and survive JSON; non-finite elements are
 * accounted by the NaN/Inf counts and counted as mismatches when they fail.
 */
import { InputError } from './errors.js';
import type { TensorComparison } from './results.js';
import { formatShape, sameShape, toFloat64 } from './tensor.js';
import type { HostTensor } from './tensor.js';
import type { Tolerance } from './tolerances.js';

/** Floor of the relative-diff denominator, so a reference of 0 gives a large but finite ratio. */
export const REL_DIFF_FLOOR = 1e-12;

/** Multi-dimensional (C-order) index of flat position `flat` in `shape`. */
function unflatten(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0 && flat > 0; d--) {
    const dim = shape[d] as number;
    index[d] = flat % dim;
    flat = Math.floor(flat / dim);
  }
  return index;
}

/**
 * The elements as numbers without a copy where the typed array already holds them (float32, float64,
 * 8-32 bit integers): a float64 copy of each side would triple the memory a large output costs.
 */
function numericView(t: HostTensor): ArrayLike<number> {
  const { data } = t;
  if (t.dtype === 'float16' || data instanceof BigInt64Array || data instanceof BigUint64Array) {
    return toFloat64(t);
  }
  return data as ArrayLike<number>;
}

/** Compares `got` (engine) against `ref` (reference) for output `output` under `tol`. */
export function compareTensors(
  output: string,
  ref: HostTensor,
  got: HostTensor,
  tol: Tolerance,
): TensorComparison {
  if (ref.dtype !== got.dtype || !sameShape(ref.shape, got.shape)) {
    throw new InputError(
      `output '${output}': engine output is ${formatShape(got.shape)} ${got.dtype}, reference is ${formatShape(ref.shape)} ${ref.dtype}`,
    );
  }
  const r = numericView(ref);
  const g = numericView(got);
  let nanRef = 0,
    nanGot = 0,
    infRef = 0,
    infGot = 0,
    mismatches = 0,
    maxAbsDiff = 0,
    maxRelDiff = 0,
    worst = -1;
  let scaleRef = 0,
    scaleGot = 0;
  for (let i = 0; i < r.length; i++) {
    const a = r[i] as number;
    const b = g[i] as number;
    if (Number.isNaN(a)) nanRef++;
    else if (!Number.isFinite(a)) infRef++;
    if (Number.isNaN(b)) nanGot++;
    else if (!Number.isFinite(b)) infGot++;
    if (!Number.isFinite(a) || !Number.isFinite(b)) {
      // Only the same infinity on both sides counts as agreement; NaN never does.
      if (Number.isNaN(a) || a !== b) mismatches++;
      continue;
    }
    const diff = Math.abs(b - a);
    if (diff > tol.atol + tol.rtol * Math.abs(a)) mismatches++;
    if (diff > maxAbsDiff || worst < 0) {
      maxAbsDiff = diff;
      worst = i;
    }
    maxRelDiff = Math.max(maxRelDiff, diff / Math.max(Math.abs(a), REL_DIFF_FLOOR));
    scaleRef = Math.max(scaleRef, Math.abs(a));
    scaleGot = Math.max(scaleGot, Math.abs(b));
  }
  // Scaling by the max magnitudes first keeps the sums of squares from overflowing for float64 data.
  let dot = 0,
    normRef = 0,
    normGot = 0;
  for (let i = 0; i < r.length; i++) {
    const a = r[i] as number;
    const b = g[i] as number;
    if (!Number.isFinite(a) || !Number.isFinite(b)) continue;
    const x = scaleRef > 0 ? a / scaleRef : 0;
    const y = scaleGot > 0 ? b / scaleGot : 0;
    dot += x * y;
    normRef += x * x;
    normGot += y * y;
  }
  let cosine: number;
  if (normRef === 0 && normGot === 0) cosine = 1;
  else if (normRef === 0 || normGot === 0) cosine = 0;
  else cosine = Math.min(1, Math.max(-1, dot / Math.sqrt(normRef * normGot)));
  return {
    output,
    dtype: ref.dtype,
    shape: [...ref.shape],
    total: r.length,
    maxAbsDiff,
    maxRelDiff,
    mismatches,
    cosine,
    worstIndex: worst < 0 ? [] : unflatten(worst, ref.shape),
    worstRef: worst < 0 ? 0 : (r[worst] as number),
    worstGot: worst < 0 ? 0 : (g[worst] as number),
    nanRef,
    nanGot,
    infRef,
    infGot,
    atol: tol.atol,
    rtol: tol.rtol,
    pass: mismatches === 0,
  };
}

/** Short human number: "1e-4", "3.2e-2", "0.91", "12346". */
function num(x: number, digits = 2): string {
  if (x === 0 || !Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 0.1 && a < 1e6) return String(Number(x.toPrecision(Math.max(digits, Math.ceil(Math.log10(a))))));
  return x
    .toExponential(digits - 1)
    .replace(/\.?0+e/, 'e')
    .replace('e+', 'e');
}

/** The values at the worst element, with enough digits that they do not print identically. */
function pair(ref: number, got: number): string {
  for (let digits = 2; digits <= 17; digits++) {
    const [a, b] = [num(ref, digits), num(got, digits)];
    if (a !== b) return `ref ${a} got ${b}`;
  }
  return `ref ${ref} got ${got}`;
}

/**
 * One line saying why `c` failed, or that it passed, for logs, the report and the gate message.
 * NaN is reported first because it makes every other statistic meaningless.
 */
export function describeFailure(c: TensorComparison): string {
  const head = `output '${c.output}'`;
  if (c.nanGot > 0) return `${head}: ${c.nanGot} NaN in engine output (reference has ${c.nanRef})`;
  if (c.nanRef > 0) return `${head}: ${c.nanRef} NaN in reference output (engine output has 0)`;
  const tolerance = `atol ${num(c.atol)} + rtol ${num(c.rtol)}`;
  const where = c.maxAbsDiff > 0 ? ` at [${c.worstIndex.join(',')}]: ${pair(c.worstRef, c.worstGot)}` : '';
  const detail = `(max abs diff ${num(c.maxAbsDiff)}${where})`;
  if (c.pass) return `${head}: all ${c.total} elements within ${tolerance} ${detail}`;
  // Inf/finite disagreements are among the mismatches but not in the diff statistics; say so.
  const inf =
    c.infGot > 0 || c.infRef > 0 ? `; engine output has ${c.infGot} Inf, reference has ${c.infRef}` : '';
  return `${head}: ${c.mismatches} of ${c.total} elements outside ${tolerance} ${detail}${inf}`;
}

function badness(c: TensorComparison): number[] {
  return [
    c.pass ? 0 : 1,
    c.nanGot + c.nanRef,
    c.total === 0 ? 0 : c.mismatches / c.total,
    c.maxAbsDiff,
    -c.cosine,
  ];
}

/**
 * The worse of two comparisons of the same output (failing over passing, then more NaN, a larger
 * mismatch fraction, a larger max abs diff, a lower cosine). One of the inputs is returned whole,
 * never a blend, so its fields stay consistent with each other; on a tie `a` is kept.
 */
export function mergeWorst(a: TensorComparison, b: TensorComparison): TensorComparison {
  if (a.output !== b.output) {
    throw new InputError(`cannot merge comparisons of different outputs '${a.output}' and '${b.output}'`);
  }
  const ka = badness(a);
  const kb = badness(b);
  for (let i = 0; i < ka.length; i++) {
    if ((kb[i] as number) > (ka[i] as number)) return b;
    if ((kb[i] as number) < (ka[i] as number)) return a;
  }
  return a;
}
