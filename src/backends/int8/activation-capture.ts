/**
 * Reading a model's intermediate tensors: the named tensors become extra graph outputs and the model
 * runs unoptimized in ONNX Runtime (so every name still exists), one sample at a time. Calibration
 * folds each sample into histograms before the next runs, and `kiln drift` counts clipped values the
 * same way, so memory stays at one sample's activations however many samples there are.
 */
import ort from 'onnxruntime-node';
import { ortLogSeverity } from '../onnxruntime/ort-log.js';
import onnxProto from 'onnx-proto';
import { firstLine, InputError } from '../../core/errors.js';
import type { HostTensor } from '../../core/tensor.js';
import { HistogramCollector } from './calibration.js';

const { onnx } = onnxProto;

/** ORT's own warning level: quiet, as everywhere in this backend. */

/**
 * A copy of the model whose graph outputs also include `tensorNames`. The added outputs carry only
 * an element type (float32) and no shape: ORT fills shapes in, and calibration only reads floats.
 */
export function exposeTensors(modelBytes: Uint8Array, tensorNames: readonly string[]): Uint8Array {
  const model = onnx.ModelProto.decode(modelBytes);
  const graph = model.graph ?? new onnx.GraphProto();
  const present = new Set((graph.output ?? []).map((output) => output.name));
  const extra = tensorNames
    .filter((name) => !present.has(name))
    .map((name) => ({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
  graph.output = [...(graph.output ?? []), ...extra];
  model.graph = graph;
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Runs the model on each sample and yields the requested tensors of that sample (float32 only:
 * every name must be a float tensor of the model, graph inputs and initializers excluded unless they
 * are also outputs). Samples are run one by one and nothing is kept between yields.
 * @throws InputError when ORT cannot load the augmented model or a run fails, naming the sample.
 */
export async function* captureActivations(
  modelBytes: Uint8Array,
  tensorNames: readonly string[],
  samples: Iterable<Record<string, HostTensor>> | AsyncIterable<Record<string, HostTensor>>,
): AsyncGenerator<Record<string, HostTensor>> {
  if (tensorNames.length === 0) {
    // ORT refuses an empty fetch list; nothing to capture is still one (empty) result per sample.
    for await (const _ of samples) yield {};
    return;
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(exposeTensors(modelBytes, tensorNames), {
      // Unoptimized, so fusions cannot remove a tensor that calibration needs.
      graphOptimizationLevel: 'disabled',
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      logSeverityLevel: ortLogSeverity(),
    });
  } catch (error) {
    throw new InputError(`cannot expose activations for calibration: ${firstLine(error)}`, { cause: error });
  }
  try {
    let index = 0;
    for await (const sample of samples) {
      const feeds = Object.fromEntries(
        Object.entries(sample).map(([name, t]) => [name, new ort.Tensor(t.dtype, t.data, t.shape)]),
      );
      let outputs: ort.InferenceSession.OnnxValueMapType;
      try {
        outputs = await session.run(feeds, [...tensorNames]);
      } catch (error) {
        throw new InputError(`calibration sample ${index}: run failed: ${firstLine(error)}`, {
          cause: error,
        });
      }
      const captured: Record<string, HostTensor> = {};
      for (const name of tensorNames) {
        const tensor = outputs[name] as ort.Tensor;
        captured[name] = { dtype: tensor.type, shape: [...tensor.dims], data: tensor.data } as HostTensor;
      }
      index++;
      yield captured;
    }
  } finally {
    await session.release();
  }
}

/** Histograms of `tensorNames` over all samples, streamed so only one sample is held at a time. */
export async function collectHistograms(
  modelBytes: Uint8Array,
  tensorNames: readonly string[],
  samples: Iterable<Record<string, HostTensor>> | AsyncIterable<Record<string, HostTensor>>,
): Promise<HistogramCollector> {
  const collector = new HistogramCollector();
  for await (const captured of captureActivations(modelBytes, tensorNames, samples)) {
    for (const [name, tensor] of Object.entries(captured)) collector.add(name, tensor.data as Float32Array);
  }
  return collector;
}
