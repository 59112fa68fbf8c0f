/**
 * Pulls a model's external-data tensors into the model itself, for the int8 path: calibration and
 * QDQ quantization hand ONNX Runtime graphs derived from the model as bytes, and the quantizer needs
 * the weights' values. Only models under 2 GiB get here (an ORT-format engine cannot be larger), so
 * the inlined model still fits protobuf.
 */
import path from 'node:path';
import type { onnx as Onnx } from 'onnx-proto';
import { openConfined } from '../../core/io/confined-file.js';
import { InputError } from '../../core/errors.js';
import { tensorsOf } from './external-data-check.js';

const EXTERNAL = 1; // TensorProto.DataLocation.EXTERNAL

/**
 * Replaces every external tensor of `model` (in place) by its bytes as `rawData`, read from the
 * file its `location` names inside `modelDir` at `offset` for `length` bytes (default: to the end).
 * @throws InputError naming the model, tensor and location when the range is not inside the file.
 */
export async function inlineExternalData(model: Onnx.IModelProto, modelPath: string): Promise<void> {
  const modelDir = path.dirname(modelPath);
  for (const tensor of tensorsOf(model.graph)) {
    const entries = tensor.externalData ?? [];
    if (tensor.dataLocation !== EXTERNAL && entries.length === 0) continue;
    const value = (key: string) => entries.find((e) => e.key === key)?.value;
    const location = value('location') ?? '';
    const where = `${modelPath}: tensor '${tensor.name ?? ''}' external data "${location}"`;
    const opened = await openConfined(modelDir, path.join(modelDir, location), {
      what: 'external data file',
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
    try {
      const offset = Number(value('offset') ?? 0);
      const length = value('length') === undefined ? opened.size - offset : Number(value('length'));
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
        throw new InputError(`${where}: offset ${offset} and length ${length}, expected whole bytes`);
      }
      if (offset + length > opened.size) {
        throw new InputError(
          `${where}: bytes ${offset}..${offset + length} are past its end (${opened.size} bytes), expected a range inside the file`,
        );
      }
      const bytes = new Uint8Array(length);
      const { bytesRead } = await opened.handle.read(bytes, 0, length, offset);
      if (bytesRead !== length) throw new InputError(`${where}: read ${bytesRead} of ${length} bytes`);
      tensor.rawData = bytes;
      tensor.dataLocation = 0;
      tensor.externalData = [];
    } finally {
      await opened.handle.close();
    }
  }
}
