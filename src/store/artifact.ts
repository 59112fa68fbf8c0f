import type { GoldenResult, LatencyStats, Precision } from '../core/results.js';
import type { TensorStats } from '../core/tensor-stats.js';
import type { Provenance } from './provenance.js';

/** Where the golden sample tensors of an artifact live, relative to its folder. */
export interface GoldenSampleFiles {
  inputs: Record<string, string>;
  outputs: Record<string, string>;
}

/** `artifact.json`: everything needed to trust, explain and reuse an engine without rebuilding it. */
export interface ArtifactRecord {
  schema: 'kiln.artifact/v1';
  model: string;
  profile: string;
  precision: Precision;
  key: string;
  /** The exact document hashed into `key`. */
  keyInputs: Record<string, unknown>;
  tags: {
    backend: string;
    backendVersion: string;
    hardware: Record<string, unknown>;
    kilnVersion: string;
  };
  engine: { file: string; sha256: string; bytes: number };
  golden: GoldenResult & {
    /** Hash of what the golden suite was run with (inputs, samples, seed, tolerances). */
    specSha256: string;
    samplesFiles: GoldenSampleFiles[];
  };
  latency: { engine: LatencyStats; reference?: LatencyStats };
  speedup?: number;
  notes: string[];
  /**
   * int8 only: what the engine was calibrated on (data hash, per-input statistics) and the activation
   * ranges it clips at: the baseline `kiln drift` compares serving traffic with.
   */
  calibration?: {
    dataSha256: string;
    method: string;
    inputs: Record<string, TensorStats>;
    activations: Record<
      string,
      {
        min: number;
        max: number;
        scale: number;
        zeroPoint: number;
        histogram?: { edges: number[]; counts: number[] };
      }
    >;
  };
  /** Which commit, workflow run and runner built the engine (a cache hit keeps the original builder). */
  provenance?: Provenance;
  createdAt: string;
}
