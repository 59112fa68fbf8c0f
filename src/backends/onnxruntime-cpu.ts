import path from 'node:path';
import ort from 'onnxruntime-node';
import { ortLogSeverity } from './ort-log.js';
import { firstLine, InputError } from '../core/errors.js';
import type { Precision } from '../core/results.js';
import type { Backend, CompiledEngine, CompileRequest, EngineSession, SessionOptions } from './backend.js';
import { collectHistograms } from './activation-capture.js';
import { calibrate } from './calibration.js';
import { probeCpuIsa } from './cpu-isa.js';
import { loadOnnxModel } from './onnx-model.js';
import { pinInputShapes } from './pin-input-shapes.js';
import { basicOptimized } from './calibration-graph.js';
import { foldAffine } from './fold-affine.js';
import { wrapOrtSession } from './ort-session.js';
import { pinnedDims } from './profile-dims.js';
import { DEFAULT_QDQ_OPS, quantizableTensors, quantizeQdq } from './qdq-quantizer.js';
import type { QdqOptions } from './qdq-quantizer.js';
import { chooseFp32Nodes, DEFAULT_MIXED_PRECISION } from './quant-sensitivity.js';
import type { MixedPrecisionPolicy } from './quant-sensitivity.js';

/**
 * ORT's level while compiling, even with --verbose: its NCHWc notice is expected there and recorded as
 * an engine note instead.
 */
const COMPILE_SEVERITY = 3;

/**
 * The embedded default backend: ONNX Runtime's CPU provider through onnxruntime-node. An engine is
 * the model with every dynamic dim pinned from the profile, all graph optimizations applied, saved
 * in ORT format (faster to load than .onnx, no re-optimization at session start).
 */
export class OnnxRuntimeCpuBackend implements Backend {
  readonly name = 'onnxruntime-cpu';
  readonly engineExtension = 'ort';

  async version(): Promise<string> {
    return ort.env.versions.node ?? ort.env.versions.common;
  }

  async hardwareFingerprint(): Promise<Record<string, unknown>> {
    const isa = probeCpuIsa();
    return { kind: 'cpu', arch: isa.arch, isa: isa.features };
  }

  compileOptions(precision: Precision): Record<string, unknown> {
    const options = { graphOptimizationLevel: 'all', format: 'ort', pinShapes: true, precision };
    // int8 has always folded before calibrating (its scheme version says so); fp32 folds since
    // FP32_REWRITES was added, which is why fp32 keys name it.
    return precision === 'int8'
      ? { ...options, quantization: int8Scheme() }
      : { ...options, exactRewrites: FP32_REWRITES };
  }

  supportedPrecisions(): readonly Precision[] {
    return ['fp32', 'int8'];
  }

  async compile(request: CompileRequest): Promise<CompiledEngine> {
    const { model } = await loadOnnxModel(request.modelPath);
    const pinned = pinInputShapes(model, pinnedDims(request.profile));
    const fileName = `engine.${this.engineExtension}`;
    let source = pinned;
    let int8: Awaited<ReturnType<typeof quantize>> | undefined;
    const rewriteNotes: string[] = [];
    if (request.precision === 'int8') {
      int8 = await quantize(pinned, request);
      source = int8.model;
    } else {
      const rewritten = await exactRewrites(
        pinned,
        `${request.modelPath}: profile '${request.profile.name}'`,
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
      });
    } catch (error) {
      throw new InputError(
        `${request.modelPath}: ONNX Runtime could not compile profile '${request.profile.name}': ${firstLine(error)}`,
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

  async openEngine(enginePath: string, options: SessionOptions): Promise<EngineSession> {
    return openSession(enginePath, {
      ...sessionOptions(options),
      graphOptimizationLevel: 'all',
    });
  }

  async openReference(modelPath: string, options: SessionOptions): Promise<EngineSession> {
    return openSession(modelPath, { ...sessionOptions(options), graphOptimizationLevel: 'disabled' });
  }
}

/** Exact graph rewrites applied to fp32 engines (part of their key), measured faster on PP-OCR det. */
const FP32_REWRITES = ['fold-affine-into-conv', 'hardswish'] as const;

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
): Promise<{ model: Uint8Array; note: string }> {
  const folded = foldAffine(await basicOptimized(pinned, where));
  if (folded.folded === 0 && folded.hardSwishes === 0) {
    return { model: pinned, note: 'fp32: no affine op or spelled-out HardSwish to rewrite' };
  }
  return {
    model: folded.model,
    note: `fp32: ${folded.folded} constant affine ops folded into Convs, ${folded.hardSwishes} spelled-out HardSwishes rewritten (exact up to rounding)`,
  };
}

/**
 * The int8 scheme, part of the artifact key: QDQ, uint8 asymmetric per-tensor activations, int8
 * symmetric per-channel weights. Without VNNI, MLAS's u8s8 dot products can saturate, so weights
 * then use 7 bits (onnxruntime's `reduce_range`).
 */
function int8Scheme(): QdqOptions & {
  format: 'qdq';
  activationType: 'uint8';
  weights: string;
  reduceRange: boolean;
  consumerRanges: boolean;
  mixedPrecision: Required<MixedPrecisionPolicy>;
  version: number;
} {
  const isa = probeCpuIsa();
  const vnni = isa.arch !== 'x64' || isa.features.some((f) => f.includes('vnni') || f.startsWith('amx'));
  return {
    format: 'qdq',
    activationType: 'uint8',
    weights: 'int8-symmetric-per-channel',
    reduceRange: !vnni,
    ops: DEFAULT_QDQ_OPS,
    // Relu/Clip/HardSigmoid/HardSwish inputs quantized over the range their consumers resolve.
    consumerRanges: true,
    // Most sensitive nodes left fp32 while the outputs' SQNR on calibration samples is below target.
    mixedPrecision: DEFAULT_MIXED_PRECISION,
    // 4: entropy calibration follows ONNX Runtime's KL window (engines calibrated by entropy change).
    version: 4,
  };
}

/**
 * pinned fp32 model → ORT basic optimizations (Conv+BatchNorm fused, Constants folded, saved as
 * ONNX) → constant Mul/Add/Div folded into adjacent Convs and spelled-out HardSwish shortened
 * (exact up to rounding; the Conv inputs and outputs calibrated keep their basic-graph names and
 * values, so drift can still observe them there) → activations on the calibration samples → ranges
 * → QDQ model. The caller then applies all optimizations, which fuse the QDQ groups into int8 kernels.
 */
async function quantize(pinned: Uint8Array, request: CompileRequest) {
  const where = `${request.modelPath}: int8 profile '${request.profile.name}'`;
  const calibration = request.calibration;
  if (!calibration || calibration.samples.length === 0) {
    throw new InputError(`${where}: int8 needs calibration samples (set models[].calibration.data)`);
  }
  const scheme = int8Scheme();
  // Folded before calibration, so the ranges are those of the graph that is quantized.
  const basic = foldAffine(await basicOptimized(pinned, where)).model;
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
