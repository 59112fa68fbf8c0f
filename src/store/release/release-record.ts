import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../core/errors.js';
import { sha256File } from '../../core/io/file-hashing.js';
import type { Precision } from '../../core/results.js';
import type { Provenance } from './provenance.js';
import { checkRecordPaths, regularFileInside, releasePaths } from '../record-paths.js';

/** One file of a released artifact folder, relative to that folder. */
export interface ReleaseFile {
  path: string;
  sha256: string;
  bytes: number;
}

/** One engine of a release: an exact copy of a verified store artifact folder. */
export interface ReleaseEngine {
  key: string;
  profile: string;
  precision: Precision;
  /** The config target that built it, when known (from build results). */
  target?: string;
  backend: string;
  backendVersion: string;
  /** The hardware tags the engine is bound to (artifact.json `tags.hardware`). */
  hardware: Record<string, unknown>;
  /** The engine file, relative to `dir`. */
  engine: { file: string; sha256: string; bytes: number };
  /** The artifact folder relative to the release folder: `engines/<key>`. */
  dir: string;
  /** Every file of the artifact folder (artifact.json, engine, golden samples) with its hash. */
  files: ReleaseFile[];
}

/** `release.json`: a model version as published; immutable once written. */
export interface ReleaseRecord {
  schema: 'kiln.release/v1';
  model: string;
  version: string;
  createdAt: string;
  /** Who published it (the commit, workflow run and runner), when known. */
  provenance?: Provenance;
  engines: ReleaseEngine[];
}

// OCI tag grammar, so a version is publishable to a registry as it is.
const VERSION = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** Checks a release version (an OCI tag): one line naming `where` and the value when it is not. */
export function validateVersion(version: string, where: string): string {
  if (!VERSION.test(version)) {
    throw new InputError(
      `${where}: version '${version}' is not usable, expected letters, digits, '.', '_' or '-' (at most 128, not starting with '.' or '-')`,
    );
  }
  return version;
}

/** `model@version` → its parts, with one line naming the value when malformed. */
export function parseModelAtVersion(text: string, where: string): { model: string; version: string } {
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) {
    throw new InputError(`${where}: '${text}' is not MODEL@VERSION`);
  }
  return { model: text.slice(0, at), version: validateVersion(text.slice(at + 1), where) };
}

/**
 * Reads `release.json` in `dir` and re-hashes every file it lists: a release whose bytes differ
 * from its record is refused, naming the file. Returns the record.
 */
export async function readRelease(dir: string): Promise<ReleaseRecord> {
  const file = path.join(dir, 'release.json');
  let record: ReleaseRecord;
  try {
    record = JSON.parse(await readFile(file, 'utf8')) as ReleaseRecord;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: ${code === 'ENOENT' ? 'no such release' : 'unreadable release.json'}`, {
      cause: error,
    });
  }
  if (record.schema !== 'kiln.release/v1' || !Array.isArray(record.engines)) {
    throw new InputError(`${file}: schema: found '${String(record.schema)}', expected 'kiln.release/v1'`);
  }
  checkReleasePaths(record, file);
  for (const [i, engine] of record.engines.entries()) {
    for (const [j, entry] of engine.files.entries()) {
      const rel = `${engine.dir}/${entry.path}`;
      const where = `engines[${i}].files[${j}].path`;
      const full = path.join(dir, rel);
      if ((await regularFileInside(dir, rel, file, where)) === undefined) {
        throw new InputError(
          `${full}: file not found, but release.json lists it (engines[${i}].files[${j}]): the release is incomplete or was tampered with`,
        );
      }
      // Present (checked above): a read failure (EACCES, EIO) is its own one-line error, not tampering.
      const actual = await sha256File(full);
      if (actual !== entry.sha256) {
        throw new InputError(
          `${full}: sha256 ${actual.slice(0, 12)} differs from release.json's ${entry.sha256.slice(0, 12)}: the release is damaged or was tampered with`,
        );
      }
    }
  }
  return record;
}

/**
 * Every path in release.json is a plain relative name, and each engine file is one of the files
 * whose hash the release lists (so loading it means loading verified bytes). One InputError line
 * naming `recordFile`, the key path and the value otherwise.
 */
export function checkReleasePaths(record: ReleaseRecord, recordFile: string): void {
  checkRecordPaths(releasePaths, record, recordFile);
  for (const [i, engine] of record.engines.entries()) {
    if (!engine.files.some((f) => f.path === engine.engine.file)) {
      throw new InputError(
        `${recordFile}: engines[${i}].engine.file: found ${JSON.stringify(engine.engine.file)}, expected one of the files listed in engines[${i}].files`,
      );
    }
  }
}
