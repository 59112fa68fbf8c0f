import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../core/errors.js';
import { sha256File } from '../core/io/file-hashing.js';
import type { GoldenResult, LatencyStats, Precision } from '../core/results.js';
import type { TensorStats } from '../core/tensor-stats.js';
import type { Provenance } from './release/provenance.js';
import { artifactPaths, checkRecordPaths, regularFileInside } from './record-paths.js';

/** Where the golden sample tensors of an artifact live, relative to its folder. */
export interface GoldenSampleFiles {
  inputs: Record<string, string>;
  outputs: Record<string, string>;
}

/** A file an engine needs besides itself, relative to the artifact folder. */
export interface EngineFile {
  file: string;
  sha256: string;
  bytes: number;
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
  engine: {
    file: string;
    sha256: string;
    bytes: number;
    /**
     * Files beside the engine that it cannot run without (an `.onnx` engine's external data),
     * verified like the engine itself. Absent when the engine is one self-contained file.
     */
    files?: EngineFile[];
  };
  golden: GoldenResult & {
    /** Hash of what the golden suite was run with (inputs, samples, seed, tolerances). */
    specSha256: string;
    samplesFiles: GoldenSampleFiles[];
    /**
     * Set when the verdict comes from re-checking a cached engine against a changed golden spec
     * (inputs, samples or tolerances): `pass` is then that re-check's verdict, not the build's.
     */
    recheckedAt?: string;
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

/**
 * Reads `<dir>/artifact.json` for tools that are handed an artifact folder (verify, deploy, OCI,
 * Triton): missing, unparsable or not a kiln.artifact/v1 record is one InputError line naming the file.
 */
export async function readArtifactRecord(dir: string): Promise<ArtifactRecord> {
  const file = path.join(dir, 'artifact.json');
  let record: ArtifactRecord;
  try {
    record = JSON.parse(await readFile(file, 'utf8')) as ArtifactRecord;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(
      `${file}: ${code === 'ENOENT' ? 'not found (expected an artifact folder holding artifact.json)' : `unreadable (${(error as Error).message.split('\n')[0]})`}`,
      { cause: error },
    );
  }
  if (record?.schema !== 'kiln.artifact/v1' || !record.tags?.hardware) {
    throw new InputError(
      `${file}: schema: found ${JSON.stringify(record?.schema)}, expected "kiln.artifact/v1"`,
    );
  }
  await checkArtifactFiles(dir, record, file);
  return record;
}

/**
 * Every path artifact.json names (engine, golden samples) must be a plain relative name whose file,
 * where present, is a regular file inside `dir`: a record is never a way to read outside its folder.
 * One InputError line naming `recordFile`, the key path and the value otherwise.
 */
export async function checkArtifactFiles(
  dir: string,
  record: ArtifactRecord,
  recordFile: string,
): Promise<void> {
  checkRecordPaths(artifactPaths, record, recordFile);
  await regularFileInside(dir, record.engine.file, recordFile, 'engine.file');
  for (const [i, extra] of (record.engine.files ?? []).entries()) {
    await regularFileInside(dir, extra.file, recordFile, `engine.files[${i}].file`);
  }
  for (const [i, sample] of (record.golden?.samplesFiles ?? []).entries()) {
    for (const side of ['inputs', 'outputs'] as const) {
      for (const [name, rel] of Object.entries(sample[side])) {
        await regularFileInside(
          dir,
          rel,
          recordFile,
          `golden.samplesFiles[${i}].${side}[${JSON.stringify(name)}]`,
        );
      }
    }
  }
}

/**
 * Why the engine in `dir` cannot be trusted (it or a file it needs is missing, or has bytes that
 * differ from the sha256 its artifact.json records), or undefined when it is intact.
 */
export async function engineHashProblem(dir: string, record: ArtifactRecord): Promise<string | undefined> {
  const problem = await fileHashProblem(dir, record.engine.file, record.engine.sha256);
  if (problem) return problem;
  for (const extra of record.engine.files ?? []) {
    const extraProblem = await fileHashProblem(dir, extra.file, extra.sha256);
    if (extraProblem) return `file ${extra.file}: ${extraProblem}`;
  }
  return undefined;
}

/**
 * Why `file` (relative to `dir`) does not hold `expected`, or undefined when it does. Only a missing
 * file is a file problem: EACCES or EIO is the store's (or the disk's) and must surface as itself,
 * not as a hash mismatch that gets the engine rebuilt over.
 */
async function fileHashProblem(dir: string, file: string, expected: string): Promise<string | undefined> {
  let actual: string;
  try {
    actual = await sha256File(path.join(dir, file));
  } catch (error) {
    if (((error as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return 'missing';
    throw error;
  }
  return actual === expected
    ? undefined
    : `sha256 ${actual.slice(0, 12)} differs from artifact.json's ${expected.slice(0, 12)}`;
}

/** The sha256 and size of each of `files` (relative to `dir`), hashed by streaming, for artifact.json. */
export async function describeEngineFiles(dir: string, files: readonly string[]): Promise<EngineFile[]> {
  const described: EngineFile[] = [];
  for (const file of files) {
    const full = path.join(dir, file);
    described.push({ file, sha256: await sha256File(full), bytes: (await stat(full)).size });
  }
  return described;
}
