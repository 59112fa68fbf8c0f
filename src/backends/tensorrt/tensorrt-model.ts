/**
 * What a TensorRT version can and cannot do with a model's inputs and outputs through trtexec,
 * decided before a build starts (pure). Each rule cites the source it was read from; docs/tensorrt.md
 * has the table.
 */
import type { onnx as Onnx } from 'onnx-proto';
import { InputError } from '../../core/errors.js';
import { narrowInt64, tensorrtNarrowsInt64 } from '../../core/int64-narrow.js';
import type { HostTensor } from '../../core/tensor.js';
import type { IoSpec } from '../model/onnx-model.js';
import { shapeOperandInputs } from '../model/shape-operand-inputs.js';
import { trtAtLeast } from './trtexec-args.js';

/** TensorRT before 10.0 runs int64 inputs and outputs as int32 (core/int64-narrow.ts). */
export function narrowsInt64(tensorrt: string): boolean {
  return tensorrtNarrowsInt64(tensorrt);
}

/**
 * trtexec's `--exportOutput` printed uint8 values with `os << v`, i.e. as raw characters, through
 * 10.15 (samples/common/sampleUtils.cpp `print`; v10.16 adds the uint8_t overload that prints
 * numbers). int8 is printed as a number since 8.6 (the int8_t overload).
 */
export function printsUint8AsNumbers(tensorrt: string): boolean {
  return trtAtLeast(tensorrt, 10, 16);
}

/**
 * Refuses, before any build, a model this TensorRT cannot build or check through trtexec:
 * - a graph input used as a shape operand becomes a TensorRT shape tensor, for which trtexec's
 *   `--shapes`/`--minShapes` give VALUES, not dims (v8.6.1 sampleInference.cpp: "set to values of the
 *   input (if it is an input shape tensor)"; sampleEngines.cpp `setShapeValues`), and kiln's profiles
 *   describe dims; without values trtexec builds for all-ones values;
 * - a uint8 output on TensorRT < 10.16 (printsUint8AsNumbers): the golden check could not read it.
 * @throws InputError naming the model file, the tensor and the reason.
 */
export function assertTensorRtCanCheck(
  model: Onnx.IModelProto,
  outputs: readonly IoSpec[],
  tensorrt: string,
  modelPath: string,
): void {
  const [shapeInput] = shapeOperandInputs(model);
  if (shapeInput) {
    throw new InputError(
      `${modelPath}: input '${shapeInput[0]}' is the shape operand of ${shapeInput[1]}, a shape tensor for TensorRT: trtexec's shape flags give a shape tensor's values, which kiln's profiles (dims) cannot express; build it with onnxruntime-gpu or make the shape a constant`,
    );
  }
  const uint8 = outputs.find((o) => o.dtype === 'uint8');
  if (uint8 && !printsUint8AsNumbers(tensorrt)) {
    throw new InputError(
      `${modelPath}: output '${uint8.name}' is uint8, which trtexec before TensorRT 10.16 exports as raw characters (this host has ${tensorrt}): the golden check cannot read it; cast the output to int32 in the model or use TensorRT 10.16 or later`,
    );
  }
}

/**
 * The bytes trtexec should read for `tensor`: unchanged, or int64 narrowed to int32 where the
 * engine's tensor is int32 (narrowsInt64): trtexec would otherwise read the first half of the int64
 * file without error. A value outside int32 is refused, never wrapped.
 * @throws InputError naming the input and the first value that does not fit.
 */
export function engineInputBytes(name: string, tensor: HostTensor, narrowInt64s: boolean): Uint8Array {
  const data = (narrowInt64s ? narrowInt64(tensor, `input '${name}'`) : tensor).data;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
