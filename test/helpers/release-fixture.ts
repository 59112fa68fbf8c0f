/**
 * Builds small but complete release folders (release.ts format) for store tests: each engine is a
 * plausible artifact folder (artifact.json with a real key over its key inputs, an engine file of
 * random or given bytes, one golden sample of .npy inputs and outputs), hashed as release.json lists.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { artifactKey, keyDocument } from '../../src/core/artifact-key.js';
import type { KeyInputs } from '../../src/core/artifact-key.js';
import { sha256 } from '../../src/core/hashing.js';
import { listFiles, sha256File } from '../../src/core/io/file-hashing.js';
import { writeNpy } from '../../src/core/io/npy-files.js';
import { compareText } from '../../src/core/ordering.js';
import type { LatencyStats, Precision } from '../../src/core/results.js';
import type { ArtifactRecord } from '../../src/store/artifact.js';
import type { Provenance } from '../../src/store/release/provenance.js';
import type { ReleaseEngine, ReleaseRecord } from '../../src/store/release/release-record.js';

export interface FixtureEngine {
  profile: string;
  precision: Precision;
  hardware: Record<string, unknown>;
  /** Engine file content; 4 KiB of random bytes when absent. */
  bytes?: Uint8Array;
  /** Config target that built it. */
  target?: string;
  backend?: string;
  backendVersion?: string;
  /** Profile shapes (key input); when absent `{x: [1, 3, N, N]}`, N the digits of the profile name (s384 → 384) or 8. */
  shapes?: Record<string, number[]>;
}

export interface FixtureRelease {
  /** `<root>/<model>/<version>`. */
  dir: string;
  record: ReleaseRecord;
}

const LATENCY: LatencyStats = {
  n: 60,
  p50: 4.1,
  p90: 4.4,
  p99: 4.9,
  mean: 4.2,
  stddev: 0.2,
  min: 3.9,
  max: 5.2,
  stable: true,
  stabilityPct: 5,
  warmup: 5,
  threads: 1,
  coldStart: { createMs: 21, firstRunMs: 9 },
};

/** Writes `<root>/<model>/<version>/` with release.json and one `engines/<key>/` folder per engine. */
export async function makeRelease(options: {
  root: string;
  model: string;
  version: string;
  engines: FixtureEngine[];
  createdAt?: string;
  provenance?: Provenance;
  /** The model's sha256 key input; random when absent (so two fixtures never share keys by accident). */
  modelSha256?: string;
}): Promise<FixtureRelease> {
  const dir = path.join(options.root, options.model, options.version);
  const modelSha256 = options.modelSha256 ?? sha256(randomBytes(16));
  const engines: ReleaseEngine[] = [];
  for (const spec of options.engines) {
    engines.push(await writeEngine(dir, options.model, modelSha256, spec));
  }
  engines.sort((a, b) =>
    compareText(`${a.profile}/${a.precision}/${a.key}`, `${b.profile}/${b.precision}/${b.key}`),
  );
  const record: ReleaseRecord = {
    schema: 'kiln.release/v1',
    model: options.model,
    version: options.version,
    createdAt: options.createdAt ?? '2025-01-02T03:04:05.000Z',
    ...(options.provenance ? { provenance: options.provenance } : {}),
    engines,
  };
  await writeFile(path.join(dir, 'release.json'), `${JSON.stringify(record, null, 2)}\n`);
  return { dir, record };
}

async function writeEngine(
  releaseDir: string,
  model: string,
  modelSha256: string,
  spec: FixtureEngine,
): Promise<ReleaseEngine> {
  const backend = spec.backend ?? 'onnxruntime-cpu';
  const backendVersion = spec.backendVersion ?? '1.30.0';
  const inputs: KeyInputs = {
    modelSha256,
    manifestSha256: null,
    profile: { shapes: spec.shapes ?? defaultShapes(spec.profile) },
    precision: spec.precision,
    calibration:
      spec.precision === 'int8'
        ? { dataSha256: sha256(`calibration of ${model}`), method: 'percentile', percentile: 99.99 }
        : null,
    backend: { name: backend, version: backendVersion },
    hardware: spec.hardware,
    compileOptions: { optimization: 'all' },
  };
  const key = artifactKey(inputs);
  const dir = path.join(releaseDir, 'engines', key);
  if (await stat(dir).catch(() => undefined)) {
    throw new Error(
      `makeRelease: two engines share key ${key.slice(0, 12)}; give them different shapes or hardware`,
    );
  }
  await mkdir(dir, { recursive: true });
  const engineBytes = spec.bytes ?? randomBytes(4096);
  await writeFile(path.join(dir, 'engine.ort'), engineBytes);
  const input = Float32Array.from({ length: 3 * 8 * 8 }, (_, i) => (i % 17) / 17);
  await writeNpy(path.join(dir, 'golden', '0', 'in-x.npy'), {
    dtype: 'float32',
    shape: [1, 3, 8, 8],
    data: input,
  });
  await writeNpy(path.join(dir, 'golden', '0', 'out-y.npy'), {
    dtype: 'float32',
    shape: [1, 2],
    data: Float32Array.from([0.25, 0.75]),
  });
  const engine = { file: 'engine.ort', sha256: sha256(engineBytes), bytes: engineBytes.byteLength };
  const artifact: ArtifactRecord = {
    schema: 'kiln.artifact/v1',
    model,
    profile: spec.profile,
    precision: spec.precision,
    key,
    keyInputs: keyDocument(inputs),
    tags: { backend, backendVersion, hardware: spec.hardware, kilnVersion: '0.0.0-test' },
    engine,
    golden: {
      pass: true,
      source: 'synthetic',
      samples: 1,
      outputs: [],
      specSha256: sha256('golden spec'),
      samplesFiles: [{ inputs: { x: 'golden/0/in-x.npy' }, outputs: { y: 'golden/0/out-y.npy' } }],
    },
    latency: { engine: LATENCY },
    notes: [],
    createdAt: '2025-01-02T03:00:00.000Z',
  };
  await writeFile(path.join(dir, 'artifact.json'), `${JSON.stringify(artifact, null, 2)}\n`);
  const files = [];
  for (const rel of (await listFiles(dir)).sort(compareText)) {
    const full = path.join(dir, rel);
    files.push({ path: rel, sha256: await sha256File(full), bytes: (await stat(full)).size });
  }
  return {
    key,
    profile: spec.profile,
    precision: spec.precision,
    ...(spec.target ? { target: spec.target } : {}),
    backend,
    backendVersion,
    hardware: spec.hardware,
    engine,
    dir: `engines/${key}`,
    files,
  };
}

function defaultShapes(profile: string): Record<string, number[]> {
  const side = Number(/\d+/.exec(profile)?.[0] ?? 8);
  return { x: [1, 3, side, side] };
}
