/** Telling a user whether it was kiln's shape pinning, not the model, that ONNX Runtime could not compile. */
import ort from 'onnxruntime-node';

/** ORT's own log level while probing: the probe's failure is the expected answer, not news. */
const SILENT = 4;

/**
 * Called after the pinned graph failed to compile: compiles the model as exported (dims dynamic, same
 * optimization level). If that succeeds, the failure came from pinning the profile's sizes into the
 * input dims (ORT's optimizer re-infers shapes through control-flow branches the profile's sizes
 * never take, as in Silero VAD v5), and the returned hint says so and what to do; otherwise ''.
 */
export async function pinFailureHint(modelPath: string): Promise<string> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelPath, {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 1,
      logSeverityLevel: SILENT,
    });
  } catch {
    return '';
  }
  await session.release();
  return (
    ' (the model as exported compiles: it is the profile sizes pinned into its input dims that ' +
    "ONNX Runtime's graph optimizer rejects; export the model with static input shapes or without " +
    'the control flow that depends on them)'
  );
}
