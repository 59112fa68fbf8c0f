/**
 * int8 on TensorRT is explicit quantization (trtexec-args.ts precisionFlags): the ONNX file trtexec
 * builds carries Q/DQ nodes, the model's own or kiln's from the calibration samples.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { onnx as Onnx } from 'onnx-proto';
import { InputError } from '../../core/errors.js';
import type { CompiledEngine, CompileRequest } from '../backend.js';
import { buildQdqModel } from '../int8/qdq-build.js';
import type { QdqScheme } from '../int8/qdq-build.js';
import { DEFAULT_QDQ_OPS } from '../int8/qdq-quantizer.js';
import { DEFAULT_MIXED_PRECISION } from '../int8/quant-sensitivity.js';

/**
 * kiln's int8 scheme for TensorRT, part of the artifact key: int8 symmetric activations (zero point
 * 0; onnx-tensorrt 8.6-GA rejects uint8 and non-zero zero points: "TensorRT only supports symmetric
 * quantization"), int8 per-channel weights, float biases, no consumer-range narrowing (a narrowed
 * range is asymmetric).
 */
export const TENSORRT_INT8_SCHEME: QdqScheme & { format: 'qdq'; version: number } = {
  format: 'qdq',
  activationType: 'int8',
  reduceRange: false,
  ops: DEFAULT_QDQ_OPS,
  consumerRanges: false,
  quantizeBias: false,
  mixedPrecision: DEFAULT_MIXED_PRECISION,
  version: 1,
};

/** Whether the model already carries explicit quantization (QuantizeLinear/DequantizeLinear nodes). */
export function hasQdqNodes(model: Onnx.IModelProto): boolean {
  return (model.graph?.node ?? []).some(
    (n) =>
      (!n.domain || n.domain === 'ai.onnx') &&
      (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear'),
  );
}

/** The ONNX file of an int8 build: absent `file` means the model itself; `dir` is scratch to remove. */
export interface Int8Source {
  file?: string;
  dir?: string;
  notes: string[];
  calibration?: CompiledEngine['calibration'];
}

/**
 * The ONNX file an int8 build reads: the model itself when it carries Q/DQ nodes, else kiln's
 * QDQ model from the calibration samples (written to a scratch folder the caller removes). A
 * model with neither is refused: trtexec `--int8` alone uses placeholder ranges, not calibration.
 */
export async function int8OnnxFile(
  request: CompileRequest,
  model: Onnx.IModelProto,
  bytes: Uint8Array,
  workDir: string,
): Promise<Int8Source> {
  if (hasQdqNodes(model)) {
    return { notes: ['int8 from the model’s own Q/DQ nodes (explicit quantization)'] };
  }
  if (!request.calibration || request.calibration.samples.length === 0) {
    throw new InputError(
      `${request.modelPath}: int8 on TensorRT needs Q/DQ nodes in the model or models[].calibration.data for kiln to add them (trtexec --int8 alone sets placeholder ranges, not calibrated ones)`,
    );
  }
  const qdq = await buildQdqModel(bytes, request, TENSORRT_INT8_SCHEME);
  await mkdir(workDir, { recursive: true });
  const dir = await mkdtemp(path.join(workDir, 'qdq-'));
  const file = path.join(dir, 'model.qdq.onnx');
  await writeFile(file, qdq.model);
  return {
    file,
    dir,
    notes: [...qdq.notes, 'int8 from kiln’s Q/DQ model (explicit quantization, int8 symmetric activations)'],
    calibration: qdq.calibration,
  };
}
