/**
 * The calibrate-and-quantize pipeline both int8 backends share: ONNX Runtime's CPU provider fuses
 * the QDQ groups into int8 kernels, TensorRT reads them as explicit quantization. Only the scheme
 * differs (onnxruntime-cpu.ts and tensorrt-int8.ts own theirs, since each is part of a key).
 */
import path from 'node:path';
import { InputError } from '../../core/errors.js';
import type { CompileRequest } from '../backend.js';
import { collectHistograms } from './activation-capture.js';
import { calibrate } from './calibration.js';
import type { CalibrationResult } from './calibration.js';
import { basicOptimized } from './calibration-graph.js';
import { foldAffine } from './fold-affine.js';
import { quantizableTensors, quantizeQdq } from './qdq-quantizer.js';
import type { QdqOptions, SkippedNode } from './qdq-quantizer.js';
import { chooseFp32Nodes } from './quant-sensitivity.js';
import type { MixedPrecisionPolicy } from './quant-sensitivity.js';

/** A quantization scheme: the quantizer's options plus the sensitivity policy. */
export type QdqScheme = QdqOptions & {
  activationType: 'uint8' | 'int8';
  mixedPrecision: Required<MixedPrecisionPolicy>;
};

export interface QdqBuild {
  /** The QDQ model (ONNX bytes). */
  model: Uint8Array;
  calibration: CalibrationResult;
  notes: string[];
  skipped: SkippedNode[];
}

/**
 * fp32 model → ORT basic optimizations (Conv+BatchNorm fused, Constants folded, saved as ONNX) →
 * constant Mul/Add/Div folded into adjacent Convs and spelled-out HardSwish shortened (exact up to
 * rounding; the Conv inputs and outputs calibrated keep their basic-graph names and values, so drift
 * can still observe them there) → activations on the calibration samples → ranges → QDQ model.
 * @throws InputError when the request carries no calibration samples.
 */
export async function buildQdqModel(
  fp32: Uint8Array,
  request: CompileRequest,
  scheme: QdqScheme,
): Promise<QdqBuild> {
  const where = `${request.modelPath}: int8 profile '${request.profile.name}'`;
  const calibration = request.calibration;
  if (!calibration || calibration.samples.length === 0) {
    throw new InputError(`${where}: int8 needs calibration samples (set models[].calibration.data)`);
  }
  // Folded before calibration, so the ranges are those of the graph that is quantized.
  // The model's folder, so ORT resolves external-data locations relative to it.
  const basic = foldAffine(await basicOptimized(fp32, where, path.dirname(request.modelPath))).model;
  const names = quantizableTensors(basic, scheme);
  const histograms = await collectHistograms(basic, names, calibration.samples);
  const result = calibrate(histograms, calibration.method, calibration.percentile, scheme.activationType);
  const mixed = await chooseFp32Nodes(basic, result, calibration.samples, scheme, scheme.mixedPrecision);
  const qdq = quantizeQdq(basic, result, { ...scheme, keepFp32: mixed.keepFp32 });
  const sqnr = (db: number) => (Number.isFinite(db) ? `${db.toFixed(1)} dB` : String(db));
  const notes = [
    `int8 QDQ (${scheme.activationType} activations, int8 per-channel weights${scheme.reduceRange ? ', 7-bit' : ''}): ` +
      `${qdq.quantizedNodes} nodes quantized, ${qdq.skipped.length} left fp32, ` +
      `${calibration.method} calibration on ${calibration.samples.length} samples; ` +
      `output SQNR vs fp32 on calibration samples ${sqnr(mixed.initialSqnrDb)} all-int8` +
      (mixed.keepFp32.length > 0
        ? `, ${sqnr(mixed.finalSqnrDb)} with ${mixed.keepFp32.length} sensitive nodes left fp32`
        : '') +
      ` (target ${scheme.mixedPrecision.targetSqnrDb} dB)`,
    ...qdq.skipped.map((s) => `int8: left fp32: ${s.op} '${s.node}': ${s.reason}`),
  ];
  return { model: qdq.model, calibration: result, notes, skipped: qdq.skipped };
}
