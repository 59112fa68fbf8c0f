/**
 * The onnxruntime-cpu backend's heavy half: compiling engines and opening sessions. Loaded on first
 * use by OnnxRuntimeCpuBackend, so that a cache hit (keys, fingerprint, no session) never loads
 * onnxruntime-node's native addon nor onnx-proto.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { ortLogSeverity } from './ort-log.js';
import { firstLine, InputError } from '../../core/errors.js';
import type { CompiledEngine, CompileRequest, EngineSession, SessionOptions } from '../backend.js';
import { inlineExternalData } from '../model/external-data-inline.js';
import { loadOnnxModel } from '../model/onnx-model.js';
import { pinFailureHint } from '../model/pin-failure-hint.js';
import { pinInputShapes } from '../model/pin-input-shapes.js';
import { basicOptimized } from '../int8/calibration-graph.js';
import { foldAffine } from '../int8/fold-affine.js';
import { externalDataFolder, wrapOrtSession } from './ort-session.js';
import { pinnedDims } from '../model/profile-dims.js';
import { buildQdqModel } from '../int8/qdq-build.js';
import { int8Scheme } from './onnxruntime-cpu.js';

/**
 * ORT's level while compiling, even with --verbose: its NCHWc notice is expected there and recorded as
 * an engine note instead.
 */
const COMPILE_SEVERITY = 3;

/** Pins, rewrites or quantizes, then saves the ORT-format engine into `request.outDir`. */
export async function compileOrtEngine(
  request: CompileRequest,
  engineExtension: string,
): Promise<CompiledEngine> {
  const { model, bytes, externalFiles } = await loadOnnxModel(request.modelPath);
  await assertFitsOrtFormat(request.modelPath, bytes.length, externalFiles);
  const pinned = pinInputShapes(model, pinnedDims(request.profile));
  const fileName = `engine.${engineExtension}`;
  let source = pinned;
  let int8: Awaited<ReturnType<typeof quantize>> | undefined;
  const rewriteNotes: string[] = [];
  if (request.precision === 'int8') {
    // Calibration and quantization run graphs derived from the model as bytes and read weight values.
    if (externalFiles.length > 0) await inlineExternalData(model, request.modelPath);
    int8 = await quantize(pinInputShapes(model, pinnedDims(request.profile)), request);
    source = int8.model;
  } else {
    const rewritten = await exactRewrites(
      pinned,
      `${request.modelPath}: profile '${request.profile.name}'`,
      path.dirname(request.modelPath),
    );
    source = rewritten.model;
    rewriteNotes.push(rewritten.note);
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(source, {
      graphOptimizationLevel: 'all',
      optimizedModelFilePath: path.join(request.outDir, fileName),
      intraOpNumThreads: 1,
      logSeverityLevel: COMPILE_SEVERITY,
      // The ORT-format engine embeds every initializer, external ones included: it needs no .data file.
      ...externalDataFolder(path.dirname(request.modelPath)),
    });
  } catch (error) {
    // An int8 failure may be the quantizer's; only a plain pinned graph is compared with the original.
    const hint = int8 ? '' : await pinFailureHint(request.modelPath);
    throw new InputError(
      `${request.modelPath}: ONNX Runtime could not compile profile '${request.profile.name}': ${firstLine(error)}${hint}`,
      { cause: error },
    );
  }
  await session.release();
  const notes = [
    'ORT format, all graph optimizations; NCHWc layouts make it specific to this CPU ISA (keyed).',
  ];
  if (!int8) return { fileName, notes: [...notes, ...rewriteNotes] };
  return { fileName, notes: [...notes, ...int8.notes], calibration: int8.calibration };
}

/** An ORT session on a compiled engine (all optimizations: the engine was saved optimized). */
export async function openOrtEngine(enginePath: string, options: SessionOptions): Promise<EngineSession> {
  return openSession(enginePath, { ...sessionOptions(options), graphOptimizationLevel: 'all' });
}

/** An ORT session on the original model, unoptimized: the golden check's reference. */
export async function openOrtReference(modelPath: string, options: SessionOptions): Promise<EngineSession> {
  return openSession(modelPath, { ...sessionOptions(options), graphOptimizationLevel: 'disabled' });
}

/** An ORT-format engine is one flatbuffer, which cannot pass 2 GiB. */
const MAX_ORT_FORMAT_BYTES = 2 * 1024 ** 3;

/**
 * Refuses, before ONNX Runtime spends minutes loading it, a model whose weights (the .onnx plus
 * every external-data file) cannot fit in an ORT-format engine: the engine embeds them all.
 */
async function assertFitsOrtFormat(modelPath: string, modelBytes: number, externalFiles: readonly string[]) {
  let total = modelBytes;
  for (const file of externalFiles) total += (await stat(path.join(path.dirname(modelPath), file))).size;
  if (total < MAX_ORT_FORMAT_BYTES) return;
  const gib = (total / 1024 ** 3).toFixed(2);
  throw new InputError(
    `${modelPath}: ${gib} GiB with its external data, expected under 2 GiB for onnxruntime-cpu (its ORT-format engine is one flatbuffer embedding every weight); build it with the tensorrt or onnxruntime-gpu target`,
  );
}

/**
 * ORT's basic optimizations, then constant Mul/Add/Sub/Div folded into adjacent Convs and spelled-out
 * HardSwish shortened ({@link foldAffine}; exact up to float rounding, which the golden check at fp32
 * tolerances confirms): about 1.1–1.25× over ORT's default session on PP-OCRv4 det at 1 thread
 * (`npm run bench`), because ORT's own fusions leave those scalar affines as elementwise passes.
 * A model with nothing to fold keeps its plain pinned graph.
 */
async function exactRewrites(
  pinned: Uint8Array,
  where: string,
  modelDir: string,
): Promise<{ model: Uint8Array; note: string }> {
  let basic: Uint8Array;
  try {
    basic = await basicOptimized(pinned, where, modelDir);
  } catch (error) {
    // The rewrites are a speed-up, not a requirement: the compile below runs the plain pinned graph
    // and, if ONNX Runtime refuses that too, says why (with the pinning hint).
    if (!(error instanceof InputError)) throw error;
    return { model: pinned, note: `fp32: exact rewrites skipped (${firstLine(error)})` };
  }
  const folded = foldAffine(basic);
  if (folded.folded === 0 && folded.hardSwishes === 0) {
    return { model: pinned, note: 'fp32: no affine op or spelled-out HardSwish to rewrite' };
  }
  return {
    model: folded.model,
    note: `fp32: ${folded.folded} constant affine ops folded into Convs, ${folded.hardSwishes} spelled-out HardSwishes rewritten (exact up to rounding)`,
  };
}

/** pinned fp32 model → QDQ model in this backend's scheme (qdq-build.ts). */
function quantize(pinned: Uint8Array, request: CompileRequest) {
  return buildQdqModel(pinned, request, int8Scheme());
}

function sessionOptions(options: SessionOptions): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: options.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: ortLogSeverity(),
  };
}

async function openSession(
  file: string,
  options: ort.InferenceSession.SessionOptions,
): Promise<EngineSession> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, options);
  } catch (error) {
    throw new InputError(`${file}: ONNX Runtime could not load it: ${firstLine(error)}`, { cause: error });
  }
  return wrapOrtSession(file, session);
}
