import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { ortLogSeverity } from '../onnxruntime/ort-log.js';
import { firstLine, InputError } from '../../core/errors.js';
import { loadOnnxModel } from '../model/onnx-model.js';
import { externalDataFolder } from '../onnxruntime/ort-session.js';
import { pinInputShapes } from '../model/pin-input-shapes.js';

/**
 * The graph int8 calibration observes: ORT's basic optimizations applied (Conv+BatchNorm fused,
 * Constants folded) and saved as ONNX, as onnxruntime's `quant_pre_process` does. Activation names
 * in artifact.json belong to this graph, so `kiln drift` must observe the same one.
 */
export async function basicOptimized(
  model: Uint8Array,
  where: string,
  modelDir?: string,
): Promise<Uint8Array> {
  const temp = await mkdtemp(path.join(os.tmpdir(), 'kiln-basic-'));
  try {
    const basicPath = path.join(temp, 'basic.onnx');
    try {
      const session = await ort.InferenceSession.create(model, {
        graphOptimizationLevel: 'basic',
        optimizedModelFilePath: basicPath,
        intraOpNumThreads: 1,
        logSeverityLevel: ortLogSeverity(),
        // The saved graph holds its initializers inline, so later steps need no external file.
        ...(modelDir === undefined ? {} : externalDataFolder(modelDir)),
      });
      await session.release();
    } catch (error) {
      throw new InputError(`${where}: ONNX Runtime could not optimize it: ${firstLine(error)}`, {
        cause: error,
      });
    }
    return await readFile(basicPath);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/** The calibration graph of a model file at fixed input shapes. */
export async function calibrationGraph(
  modelPath: string,
  shapes: Record<string, number[]>,
): Promise<Uint8Array> {
  const { model } = await loadOnnxModel(modelPath);
  return basicOptimized(pinInputShapes(model, shapes), modelPath, path.dirname(modelPath));
}
