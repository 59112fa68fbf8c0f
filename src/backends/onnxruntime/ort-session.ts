import ort from 'onnxruntime-node';
import { firstLine, InputError } from '../../core/errors.js';
import type { HostTensor } from '../../core/tensor.js';
import type { EngineSession } from '../backend.js';

/**
 * Session options for a model handed to ONNX Runtime as bytes (shapes pinned, quantized) whose
 * tensors may live in external-data files: ORT resolves their locations against `modelDir`, the
 * original model's folder, rather than the working directory (and refuses any that escape it).
 */
export function externalDataFolder(modelDir: string): Pick<ort.InferenceSession.SessionOptions, 'extra'> {
  return { extra: { session: { model_external_initializers_file_folder_path: modelDir } } };
}

/** ORT tensors for host tensors: same dtype names and typed arrays, so no copy. */
export function toOrtFeeds(inputs: Record<string, HostTensor>): Record<string, ort.Tensor> {
  return Object.fromEntries(
    Object.entries(inputs).map(([name, t]) => [name, new ort.Tensor(t.dtype, t.data, t.shape)]),
  );
}

/** What the CPU backend's samples measure (EngineSession.measures). */
export const ORT_CPU_MEASURES = 'ONNX Runtime CPU wall time per session.run';

/**
 * An ONNX Runtime session (any execution provider) as an EngineSession; `file` names the model in
 * one-line run errors, `measures` says what timing its bind() closure measures.
 */
export function wrapOrtSession(
  file: string,
  session: ort.InferenceSession,
  measures: string = ORT_CPU_MEASURES,
): EngineSession {
  return {
    measures,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(inputs, fetches) {
      let outputs: ort.InferenceSession.OnnxValueMapType;
      try {
        const feeds = toOrtFeeds(inputs);
        outputs = await (fetches ? session.run(feeds, fetches) : session.run(feeds));
      } catch (error) {
        throw new InputError(`${file}: run failed: ${firstLine(error)}`, { cause: error });
      }
      return Object.fromEntries(
        Object.entries(outputs).map(([name, value]) => {
          const tensor = value as ort.Tensor;
          return [name, { dtype: tensor.type, shape: [...tensor.dims], data: tensor.data } as HostTensor];
        }),
      );
    },
    bind(inputs) {
      const feeds = toOrtFeeds(inputs);
      return () => session.run(feeds);
    },
    release: () => session.release(),
  };
}
