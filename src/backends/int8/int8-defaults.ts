/**
 * The int8 defaults that artifact keys name. They live apart from the quantizer and the sensitivity
 * search so that computing a key (a cache hit) loads neither onnx-proto nor onnxruntime-node.
 */
import type { MixedPrecisionPolicy } from './quant-sensitivity.js';

/** What kiln quantizes by default: the weighted ops, where int8 kernels pay off. */
export const DEFAULT_QDQ_OPS: readonly string[] = ['Conv', 'MatMul', 'Gemm'];

/** Mixed-precision search defaults (see {@link MixedPrecisionPolicy}). */
export const DEFAULT_MIXED_PRECISION: Required<MixedPrecisionPolicy> = {
  targetSqnrDb: 30,
  maxFp32Nodes: 0,
  samples: 8,
};
