/**
 * TensorRT before 10.0 has no int64 tensors: onnx/onnx-tensorrt release/8.6-GA `convertDtype`
 * (onnx2trt_utils.cpp) makes an INT64 graph input or output kINT32, so such a plan's bindings are
 * int32 for trtexec and Triton alike (release/10.0-GA maps INT64 to kINT64). Shared by the TensorRT
 * backend (trtexec input files) and the Triton export (config.pbtxt types, warmup files).
 */
import { InputError } from './errors.js';
import type { HostTensor } from './tensor.js';

/** Whether a plan built by this TensorRT version runs int64 I/O as int32 ("8.6.1" yes, "10.0.0" no). */
export function tensorrtNarrowsInt64(version: string): boolean {
  const major = Number.parseInt(version, 10);
  if (!Number.isFinite(major)) throw new InputError(`TensorRT version '${version}' has no major version`);
  return major < 10;
}

/**
 * An int64 tensor as int32 (any other tensor unchanged). A value outside int32 is refused, never
 * wrapped: `what` names the tensor in that one line.
 * @throws InputError naming `what`, the value and its index.
 */
export function narrowInt64(tensor: HostTensor, what: string): HostTensor {
  const data = tensor.data;
  if (!(data instanceof BigInt64Array)) return tensor;
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < -2147483648n || v > 2147483647n) {
      throw new InputError(
        `${what}: value ${v} at index ${i} does not fit int32, and TensorRT before 10.0 runs int64 tensors as int32`,
      );
    }
    out[i] = Number(v);
  }
  return { dtype: 'int32', shape: tensor.shape, data: out };
}
