/**
 * Release folders for the Triton export tests: artifact folders fabricated in the store's format
 * (artifact.json, an engine file, golden `.npy` samples), or real ones from a `kiln build`, copied
 * into `<release>/engines/<key>/` and listed in release.json with their hashes, as a publish would.
 */
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256File } from '../../src/core/io/file-hashing.js';
import { npyFileName } from '../../src/core/npy.js';
import { writeNpy } from '../../src/core/io/npy-files.js';
import type { Precision } from '../../src/core/results.js';
import type { HostTensor } from '../../src/core/tensor.js';
import type { ArtifactRecord, GoldenSampleFiles } from '../../src/store/artifact.js';
import type { ReleaseEngine, ReleaseRecord } from '../../src/store/release/release-record.js';

/** What a fabricated artifact holds; the engine bytes are opaque to the export. */
export interface FakeArtifact {
  model: string;
  key: string;
  profile: string;
  precision: Precision;
  backend: string;
  hardware: Record<string, unknown>;
  /** `keyInputs.profile`: `{ shapes }` or `{ min, opt, max }`. */
  profileShapes: Record<string, Record<string, number[]>>;
  engineFile: string;
  engineBytes: Uint8Array;
  samples: { inputs: Record<string, HostTensor>; outputs: Record<string, HostTensor> }[];
}

/** Writes `spec` as a store artifact folder in `dir`. */
export async function writeFakeArtifact(dir: string, spec: FakeArtifact): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, spec.engineFile), spec.engineBytes);
  const samplesFiles: GoldenSampleFiles[] = [];
  for (const [i, sample] of spec.samples.entries()) {
    const files: GoldenSampleFiles = { inputs: {}, outputs: {} };
    for (const [side, prefix] of [
      ['inputs', 'in'],
      ['outputs', 'out'],
    ] as const) {
      for (const [name, tensor] of Object.entries(sample[side])) {
        files[side][name] = `golden/${i}/${prefix}-${npyFileName(name)}`;
        await writeNpy(path.join(dir, files[side][name]), tensor);
      }
    }
    samplesFiles.push(files);
  }
  const record: ArtifactRecord = {
    schema: 'kiln.artifact/v1',
    model: spec.model,
    profile: spec.profile,
    precision: spec.precision,
    key: spec.key,
    keyInputs: { profile: spec.profileShapes, precision: spec.precision, hardware: spec.hardware },
    tags: {
      backend: spec.backend,
      // A TensorRT plan's backend version is its TensorRT version, as the build records it.
      backendVersion: typeof spec.hardware.tensorrt === 'string' ? spec.hardware.tensorrt : '1.0.0',
      hardware: spec.hardware,
      kilnVersion: '0.1.0',
    },
    engine: {
      file: spec.engineFile,
      sha256: await sha256File(path.join(dir, spec.engineFile)),
      bytes: spec.engineBytes.length,
    },
    golden: {
      pass: true,
      source: 'synthetic',
      samples: spec.samples.length,
      outputs: [],
      specSha256: '0',
      samplesFiles,
    },
    latency: {
      engine: {
        n: 5,
        p50: 1,
        p90: 1,
        p99: 1,
        mean: 1,
        stddev: 0,
        min: 1,
        max: 1,
        stable: true,
        stabilityPct: 5,
        warmup: 1,
        threads: 1,
        coldStart: { createMs: 1, firstRunMs: 1 },
      },
    },
    notes: [],
    createdAt: '2026-01-01T00:00:00.000Z',
  };
  await writeFile(path.join(dir, 'artifact.json'), `${JSON.stringify(record, null, 2)}\n`);
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/** The release.json entry of the artifact folder `<releaseDir>/engines/<key>`, files hashed. */
async function describeEngine(releaseDir: string, dir: string): Promise<ReleaseEngine> {
  const record = JSON.parse(
    await readFile(path.join(releaseDir, dir, 'artifact.json'), 'utf8'),
  ) as ArtifactRecord;
  const files = [];
  for (const file of await listFiles(path.join(releaseDir, dir))) {
    const full = path.join(releaseDir, dir, file);
    files.push({ path: file, sha256: await sha256File(full), bytes: (await readFile(full)).length });
  }
  return {
    key: record.key,
    profile: record.profile,
    precision: record.precision,
    backend: record.tags.backend,
    backendVersion: record.tags.backendVersion,
    hardware: record.tags.hardware,
    engine: record.engine,
    dir,
    files,
  };
}

/** Copies the store artifact folder `artifactDir` into the release, as a publish does. */
export async function addToRelease(releaseDir: string, artifactDir: string): Promise<ReleaseEngine> {
  const dir = `engines/${path.basename(artifactDir)}`;
  await cp(artifactDir, path.join(releaseDir, dir), { recursive: true });
  return describeEngine(releaseDir, dir);
}

/** Writes release.json for `engines` (already copied in by addToRelease). */
export async function writeReleaseJson(
  releaseDir: string,
  model: string,
  version: string,
  engines: ReleaseEngine[],
): Promise<void> {
  const record: ReleaseRecord = {
    schema: 'kiln.release/v1',
    model,
    version,
    createdAt: '2026-01-01T00:00:00.000Z',
    engines,
  };
  await writeFile(path.join(releaseDir, 'release.json'), `${JSON.stringify(record, null, 2)}\n`);
}

/** Fabricates every artifact of `specs` and writes the release folder holding them. */
export async function writeFakeRelease(
  releaseDir: string,
  version: string,
  specs: FakeArtifact[],
): Promise<ReleaseEngine[]> {
  const engines: ReleaseEngine[] = [];
  for (const spec of specs) {
    await writeFakeArtifact(path.join(releaseDir, 'engines', spec.key), spec);
    engines.push(await describeEngine(releaseDir, `engines/${spec.key}`));
  }
  await writeReleaseJson(releaseDir, specs[0]?.model ?? 'model', version, engines);
  return engines;
}

/** Every file under `dir`, relative, sorted: for "nothing was written" assertions. */
export async function treeFiles(dir: string): Promise<string[]> {
  return listFiles(dir).catch(() => []);
}
