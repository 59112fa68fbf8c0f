import type { HostTensor } from '../core/tensor.js';
import type { Precision } from '../core/results.js';
import type { ProfileShapes } from '../core/artifact-key.js';
import type { CalibrationMethod, CalibrationResult } from './int8/calibration.js';

/** A shape profile as the backend sees it: a label plus fixed or ranged shapes. */
export type EngineProfile = { name: string } & ProfileShapes;

export interface CompileRequest {
  modelPath: string;
  profile: EngineProfile;
  precision: Precision;
  /** Empty folder to write the engine into; the store moves it into place atomically. */
  outDir: string;
  /** int8 only: the calibration samples (one feed per sample) and how to turn them into ranges. */
  calibration?: {
    samples: Array<Record<string, HostTensor>>;
    method: CalibrationMethod;
    percentile: number;
  };
}

export interface CompiledEngine {
  /** File name of the engine inside `outDir`, e.g. `engine.ort`. */
  fileName: string;
  /** Warnings or facts from the compiler worth keeping with the artifact. */
  notes: string[];
  /**
   * Other files inside `outDir` the engine cannot run without (relative POSIX paths), e.g. the
   * external-data files an `.onnx` engine references: stored, hashed and verified with the engine.
   */
  files?: string[];
  /** int8 only: the calibrated activation ranges, stored in artifact.json as `calibration`. */
  calibration?: CalibrationResult;
}

export interface SessionOptions {
  /** Intra-op threads; 1 by default so latency is comparable across runs and hosts. */
  threads: number;
}

/** A loaded engine or reference model that runs host tensors. */
export interface EngineSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /**
   * Runs the model; with `outputs`, returns only those (the rest are not handed to the caller, so a
   * model with many large outputs can be checked a few outputs at a time).
   */
  run(inputs: Record<string, HostTensor>, outputs?: readonly string[]): Promise<Record<string, HostTensor>>;
  /**
   * Binds inputs once and returns a closure that runs the session and discards outputs: the
   * benchmark times this closure, so nothing but the backend's own run may happen inside it.
   */
  bind(inputs: Record<string, HostTensor>): () => Promise<unknown>;
  /**
   * Optional, for tools that time themselves (trtexec): runs warm-up and timed iterations inside
   * the tool and returns per-iteration latencies in ms. Timing `bind()` from JS would measure
   * process start and engine load, not the engine; a benchmark that finds this method should use
   * its samples (then summarize/windowsAgree as usual) instead of its own timed loop.
   */
  benchmark?(inputs: Record<string, HostTensor>, settings: BenchmarkSettings): Promise<number[]>;
  /**
   * Optional, for tools that run as one process per measurement (trtexec): one process running
   * `iterations` timed inferences after the tool's own warm-up, returning their per-inference times
   * in ms. The A/B bench interleaves such blocks (base, head, head, base, …) and resamples whole
   * blocks, so between-process variance is counted (src/core/block-bootstrap.ts).
   */
  timedBlock?(inputs: Record<string, HostTensor>, iterations: number): Promise<number[]>;
  /**
   * What this session's latency samples measure, said the same way in every report, e.g. `ONNX
   * Runtime CPU wall time per session.run`: a speedup between two sessions is only read right when
   * both sides say what they timed.
   */
  readonly measures?: string;
  release(): Promise<void>;
}

/** What a self-timing session needs to know of the bench config (BenchConfig's fields). */
export interface BenchmarkSettings {
  warmup: number;
  minSamples: number;
  maxSamples: number;
  budgetMs: number;
}

/** One compiler/runtime (docs/architecture.md "Parts"): onnxruntime-cpu, tensorrt, onnxruntime-gpu. */
export interface Backend {
  readonly name: string;
  /** Engine file extension, e.g. `ort` or `plan`. */
  readonly engineExtension: string;
  version(): Promise<string>;
  /** What makes this backend's engines non-portable on this host (ISA, compute capability, ...). */
  hardwareFingerprint(): Promise<Record<string, unknown>>;
  /** Options that shape the engine and so belong in the artifact key. */
  compileOptions(precision: Precision): Record<string, unknown>;
  /** Precisions this backend can build here; others are refused up front. */
  supportedPrecisions(): readonly Precision[];
  compile(request: CompileRequest): Promise<CompiledEngine>;
  openEngine(enginePath: string, options: SessionOptions): Promise<EngineSession>;
  /** The uncompiled reference: the original model with graph optimizations disabled. */
  openReference(modelPath: string, options: SessionOptions): Promise<EngineSession>;
}
