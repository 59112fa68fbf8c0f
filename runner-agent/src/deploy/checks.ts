/**
 * The checks that run engines: warmup against the stored goldens and the interleaved latency
 * comparison with the serving version. Engines come through {@link EngineHost}, so tests can present
 * another host's hardware without owning it.
 */
import path from 'node:path';
import { InputError, KilnError } from '../../../src/core/errors.js';
import type { LatencyDecision } from '../../../src/core/latency-regression.js';
import { readNpy } from '../../../src/core/io/npy-files.js';
import type { TensorComparison } from '../../../src/core/results.js';
import { percentile } from '../../../src/core/statistics.js';
import type { HostTensor } from '../../../src/core/tensor.js';
import type { EngineSession } from '../../../src/backends/backend.js';
import { backendAvailability, createBackend } from '../../../src/backends/registry.js';
import { measureAb } from '../../../src/pipeline/ab-bench.js';
import { systemClock, type Clock } from '../../../src/pipeline/clock.js';
import type { ArtifactRecord } from '../../../src/store/artifact.js';
import type { ReleaseEngine, ReleaseRecord } from '../../../src/store/release/release-record.js';
import type { DeployedEngine } from './record.js';
import { judgeWarmupOutput, recordedTolerance, warmupFailure, type HostHardware } from './plan.js';

/** This host's engines: what its hardware is per backend, and how to load an engine. */
export interface EngineHost {
  hardware(backend: string): Promise<HostHardware>;
  open(backend: string, enginePath: string, threads: number): Promise<EngineSession>;
}

/**
 * The real host: backends from the registry. `fingerprint` replaces the hardware probe (tests use it
 * to play a host with another CPU ISA or GPU); loading still uses the real backend.
 */
export function realEngineHost(
  fingerprint?: (backend: string) => Promise<Record<string, unknown>>,
): EngineHost {
  return {
    async hardware(backend) {
      const availability = backendAvailability(backend);
      if (!availability.available) return { unavailable: availability.reason };
      if (fingerprint) return { fingerprint: await fingerprint(backend) };
      return { fingerprint: await (await createBackend(backend, 'deploy')).hardwareFingerprint() };
    },
    open: async (backend, enginePath, threads) =>
      (await createBackend(backend, 'deploy')).openEngine(enginePath, { threads }),
  };
}

/** This host's hardware for every backend `release` has engines for. */
export async function hostHardware(
  release: ReleaseRecord,
  engines: EngineHost,
): Promise<Map<string, HostHardware>> {
  const hosts = new Map<string, HostHardware>();
  for (const backend of new Set(release.engines.map((e) => e.backend)))
    hosts.set(backend, await engines.hardware(backend));
  return hosts;
}

/** An engine of the release being deployed, loaded, with its goldens and what the checks found. */
export interface LoadedEngine {
  engine: ReleaseEngine;
  record: ArtifactRecord;
  session: EngineSession;
  samples: GoldenSample[];
  report: DeployedEngine;
}

/** A golden sample as stored with the artifact. */
export interface GoldenSample {
  inputs: Record<string, HostTensor>;
  outputs: Record<string, HostTensor>;
}

/** Reads every golden sample of an artifact folder; a path leaving the folder is refused. */
export async function readGoldenSamples(
  artifactDir: string,
  record: ArtifactRecord,
): Promise<GoldenSample[]> {
  const read = async (files: Record<string, string>) => {
    const tensors: Record<string, HostTensor> = {};
    for (const [name, rel] of Object.entries(files)) {
      const full = path.resolve(artifactDir, rel);
      if (!full.startsWith(path.resolve(artifactDir) + path.sep)) {
        throw new InputError(`${artifactDir}/artifact.json: golden file '${rel}' is outside the artifact`);
      }
      tensors[name] = await readNpy(full, { root: artifactDir });
    }
    return tensors;
  };
  const samples: GoldenSample[] = [];
  for (const files of record.golden.samplesFiles ?? []) {
    samples.push({ inputs: await read(files.inputs), outputs: await read(files.outputs) });
  }
  return samples;
}

export interface WarmupResult {
  /** Per-run wall times in ms, first (cold) run included. */
  timings: number[];
  /** Per output, the comparison of the worst sample. */
  worst: TensorComparison[];
  /** One line naming the sample and output that failed; absent when all agreed. */
  failure?: string;
}

/**
 * Runs every golden sample's inputs through the engine and compares each output with the stored
 * golden output under the tolerance the build used. Stops at the first disagreement.
 */
export async function runWarmup(
  session: EngineSession,
  record: ArtifactRecord,
  samples: GoldenSample[],
  clock: Clock = systemClock,
): Promise<WarmupResult> {
  const timings: number[] = [];
  const worst = new Map<string, TensorComparison>();
  for (const [i, sample] of samples.entries()) {
    const start = clock.now();
    const got = await session.run(sample.inputs);
    timings.push(clock.now() - start);
    for (const [name, golden] of Object.entries(sample.outputs)) {
      const out = got[name];
      if (!out)
        return { timings, worst: [...worst.values()], failure: `sample ${i}: output '${name}' is missing` };
      let c: TensorComparison;
      try {
        c = judgeWarmupOutput(name, golden, out, recordedTolerance(record, name));
      } catch (error) {
        // Shape or dtype differs from the golden: the engine is not the one the goldens came from.
        if (!(error instanceof KilnError)) throw error;
        return { timings, worst: [...worst.values()], failure: `sample ${i}: ${error.message}` };
      }
      const before = worst.get(name);
      if (!before || c.maxAbsDiff > before.maxAbsDiff || !c.pass) worst.set(name, c);
      if (!c.pass)
        return { timings, worst: [...worst.values()], failure: `sample ${i}: ${warmupFailure(c)}` };
    }
  }
  return { timings, worst: [...worst.values()] };
}

/** Interleaved A/B sampling settings and the latency gate. */
export interface LatencySettings {
  warmup: number;
  minSamples: number;
  maxSamples: number;
  budgetMs: number;
  stabilityPct: number;
  metric: 'p50' | 'p99';
  maxRegressionPct: number;
  confidence: number;
}

/** Times the serving engine (base) against the new one (head), interleaved, on the same inputs. */
export async function compareWithServing(
  base: EngineSession,
  head: EngineSession,
  inputs: Record<string, HostTensor>,
  settings: LatencySettings,
  clock: Clock = systemClock,
): Promise<{ decision: LatencyDecision; headP99: number }> {
  // Blocks of inferences per trtexec process for TensorRT, single runs in process otherwise.
  const samples = await measureAb(base, head, inputs, settings, clock);
  const decision = samples.decision;
  return { decision, headP99: p99(samples.head) };
}

/** p99 of timings in ms (0 for none). */
export function p99(timings: number[]): number {
  return timings.length === 0 ? 0 : percentile(Float64Array.from(timings).sort(), 99);
}
