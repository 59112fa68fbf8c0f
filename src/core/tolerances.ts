/**
 * Default golden-test tolerances per engine precision. They are deliberately loose enough for the
 * rounding each precision implies and tight enough that a wrong kernel or a broken calibration fails.
 */
import type { ToleranceConfig } from './config-schema.js';
import type { Precision } from './results.js';

/** An element passes when |got - ref| <= atol + rtol * |ref| (numpy.allclose semantics). */
export interface Tolerance {
  atol: number;
  rtol: number;
  /**
   * When set, the output passes on similarity instead: cosine(ref, got) >= minCosine and no NaN or
   * Inf disagreement. Quantized engines differ elementwise at edges (a detector map pixel may flip by
   * ~1) while agreeing as a whole, so an elementwise gate would fail every good int8 engine.
   */
  minCosine?: number;
}

const DEFAULTS: Record<Precision, Tolerance> = {
  // fp32 engines still reorder reductions and fuse ops, so bit-exactness is not expected.
  fp32: { atol: 1e-4, rtol: 1e-3 },
  // Half has ~3 decimal digits; 1e-2 covers accumulated rounding through a typical network.
  fp16: { atol: 1e-2, rtol: 1e-2 },
  // Quantisation error is per-tensor-scale sized; a few percent is the usual accuracy budget.
  int8: { atol: 5e-2, rtol: 5e-2, minCosine: 0.98 },
};

/** The default tolerance for `precision`; a fresh object, so callers may override fields. */
export function defaultTolerance(precision: Precision): Tolerance {
  return { ...DEFAULTS[precision] };
}

/** The tolerance for one output: per-output override, then the model's, then the precision default. */
export function toleranceFor(
  output: string,
  precision: Precision,
  config: ToleranceConfig | undefined,
): Tolerance {
  const override = config?.outputs?.[output];
  if (override) return override;
  if (config)
    return {
      atol: config.atol,
      rtol: config.rtol,
      ...(config.minCosine === undefined ? {} : { minCosine: config.minCosine }),
    };
  return defaultTolerance(precision);
}
