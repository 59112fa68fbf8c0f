import type { Precision } from '../../core/results.js';
import type { Backend, CompiledEngine, CompileRequest, EngineSession, SessionOptions } from '../backend.js';
import { probeCpuIsa } from '../cpu-isa.js';
import { ortPackageVersion } from './ort-version.js';
import { DEFAULT_MIXED_PRECISION, DEFAULT_QDQ_OPS } from '../int8/int8-defaults.js';
import type { QdqOptions } from '../int8/qdq-quantizer.js';
import type { MixedPrecisionPolicy } from '../int8/quant-sensitivity.js';

/** The engine half (onnxruntime-node, onnx-proto), loaded only when an engine is compiled or opened. */
const engineModule = () => import('./onnxruntime-cpu-engine.js');

/**
 * The embedded default backend: ONNX Runtime's CPU provider through onnxruntime-node. An engine is
 * the model with every dynamic dim pinned from the profile, all graph optimizations applied, saved
 * in ORT format (faster to load than .onnx, no re-optimization at session start).
 */
export class OnnxRuntimeCpuBackend implements Backend {
  readonly name = 'onnxruntime-cpu';
  readonly engineExtension = 'ort';

  async version(): Promise<string> {
    return ortPackageVersion();
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
    return (await engineModule()).compileOrtEngine(request, this.engineExtension);
  }

  async openEngine(enginePath: string, options: SessionOptions): Promise<EngineSession> {
    return (await engineModule()).openOrtEngine(enginePath, options);
  }

  async openReference(modelPath: string, options: SessionOptions): Promise<EngineSession> {
    return (await engineModule()).openOrtReference(modelPath, options);
  }
}

/** Exact graph rewrites applied to fp32 engines (part of their key), measured faster on PP-OCR det. */
const FP32_REWRITES = ['fold-affine-into-conv', 'hardswish'] as const;

/**
 * The int8 scheme, part of the artifact key: QDQ, uint8 asymmetric per-tensor activations, int8
 * symmetric per-channel weights. Without VNNI, MLAS's u8s8 dot products can saturate, so weights
 * then use 7 bits (onnxruntime's `reduce_range`).
 */
export function int8Scheme(): QdqOptions & {
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
