/**
 * Writing into a Triton model repository without ever showing Triton a partial version: each
 * model is staged in a temporary folder inside the repository (one filesystem, so renames are
 * atomic) and moved into place, config.pbtxt last.
 */
import { copyFile, mkdir, mkdtemp, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../core/errors.js';
import type { WarmupFile } from './signature.js';

/** One Triton model version, ready to write. */
export interface TritonModelWrite {
  name: string;
  version: number;
  /** `<repository>/<name>`. */
  dir: string;
  /** Whether `dir` already exists (other versions of the model). */
  exists: boolean;
  /** Engine files to copy into `<version>/`. */
  engines: { source: string; fileName: string }[];
  warmupFiles: WarmupFile[];
  /** The complete config.pbtxt text. */
  config: string;
}

const VERSION_FOLDER = /^\d+$/;

/** Numeric version folders of a Triton model folder; undefined when the folder does not exist. */
export async function tritonVersions(dir: string): Promise<number[] | undefined> {
  // Only ENOENT is "no such model yet": a folder that cannot be looked at (EACCES, ENOTDIR, EIO)
  // must not read as absent, or version 1 would be planned over versions that may exist.
  const info = await stat(dir).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new InputError(`${dir}: cannot read the Triton model folder (${String(code)})`, { cause: error });
  });
  if (!info) return undefined;
  if (!info.isDirectory()) {
    throw new InputError(`${dir}: exists and is not a folder, expected a Triton model folder`);
  }
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && VERSION_FOLDER.test(e.name)).map((e) => Number(e.name));
}

/** Writes the whole model folder (config, version, warmup) under `staging`; returns its files. */
async function stage(staging: string, model: TritonModelWrite): Promise<string[]> {
  const root = path.join(staging, model.name);
  const versionDir = path.join(root, String(model.version));
  await mkdir(versionDir, { recursive: true });
  await mkdir(path.join(root, 'warmup'));
  const files: string[] = [];
  for (const { source, fileName } of model.engines) {
    await copyFile(source, path.join(versionDir, fileName));
    files.push(`${model.version}/${fileName}`);
  }
  for (const file of model.warmupFiles) {
    await writeFile(path.join(root, 'warmup', file.name), file.bytes);
    files.push(`warmup/${file.name}`);
  }
  await writeFile(path.join(root, 'config.pbtxt'), model.config);
  return [...files, 'config.pbtxt'];
}

/**
 * Moves a staged model into the repository. A new model is one rename. Into an existing one the
 * warmup files go first, then the version folder, then config.pbtxt: until that last rename Triton
 * keeps seeing the previous config, and a crash leaves a complete version folder, never a partial
 * one. Warmup files of an earlier export that the new config no longer names are removed last.
 */
async function commit(staging: string, model: TritonModelWrite): Promise<void> {
  const staged = path.join(staging, model.name);
  if (!model.exists) {
    await rename(staged, model.dir);
    return;
  }
  const warmup = path.join(model.dir, 'warmup');
  await mkdir(warmup, { recursive: true });
  const names = new Set(model.warmupFiles.map((f) => f.name));
  for (const name of names) await rename(path.join(staged, 'warmup', name), path.join(warmup, name));
  await rename(path.join(staged, String(model.version)), path.join(model.dir, String(model.version)));
  await rename(path.join(staged, 'config.pbtxt'), path.join(model.dir, 'config.pbtxt'));
  for (const name of await readdir(warmup)) {
    if (name.startsWith('kiln-golden-') && !names.has(name)) await unlink(path.join(warmup, name));
  }
}

/**
 * Writes each model into `repository` (created when missing), one after the other; returns the
 * files written per model, relative to its folder. The staging folder is removed whatever happens.
 */
export async function writeTritonModels(repository: string, models: TritonModelWrite[]): Promise<string[][]> {
  await mkdir(repository, { recursive: true });
  const staging = await mkdtemp(path.join(repository, '.kiln-tmp-'));
  try {
    const written: string[][] = [];
    for (const model of models) {
      written.push(await stage(staging, model));
      await commit(staging, model);
    }
    return written;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
