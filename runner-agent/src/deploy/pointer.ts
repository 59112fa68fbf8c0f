/**
 * The serving layout of one model and the only writes that change what serves:
 *
 * ```
 * <root>/<model>/versions/<version>/   release.json + engines/<key>/ (pulled, verified)
 * <root>/<model>/current -> versions/<version>    what serves; read by the inference server
 * <root>/<model>/previous -> versions/<version>   what `kiln-agent rollback` goes back to
 * <root>/<model>/deploy.json           journal of the deploy in progress (absent when none)
 * <root>/<model>/.deploy.lock          one deploy or rollback of the model at a time
 * <root>/.tmp/<model>@...              staging and trash; swept by the next deploy of the model
 * ```
 *
 * A pointer is switched by creating a new symlink next to it and rename()-ing it over the old one:
 * rename is atomic on POSIX, so a reader (or a crash) sees the old target or the new one, never a
 * missing or half-written link.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../../src/core/errors.js';
import { acquireFileLock, describeOwner, FileLockError } from '../../../src/core/io/file-lock.js';
import type { DeployStep } from './record.js';

/** Where one model's serving state lives under the serving root. */
export interface ModelPaths {
  root: string;
  model: string;
  dir: string;
  versions: string;
  current: string;
  previous: string;
  journal: string;
  lock: string;
  /** Shared staging folder of the root (same filesystem, so rename works). */
  tmp: string;
}

// Same rule as kiln.yaml model names: the name becomes a folder and a Prometheus label value.
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Whether `name` can be a model folder (and label value) under the serving root. */
export function isModelName(name: string): boolean {
  return MODEL_NAME.test(name);
}

/** The layout for `model` under `root`; refuses a name that is not a plain folder name. */
export function modelPaths(root: string, model: string): ModelPaths {
  if (!MODEL_NAME.test(model)) {
    throw new InputError(`model '${model}' is not usable, expected letters, digits, '.', '_' or '-'`);
  }
  const dir = path.join(root, model);
  return {
    root,
    model,
    dir,
    versions: path.join(dir, 'versions'),
    current: path.join(dir, 'current'),
    previous: path.join(dir, 'previous'),
    journal: path.join(dir, 'deploy.json'),
    lock: path.join(dir, '.deploy.lock'),
    tmp: path.join(root, '.tmp'),
  };
}

/** The folder of `version` of a model. */
export function versionDir(paths: ModelPaths, version: string): string {
  return path.join(paths.versions, version);
}

/** A fresh staging or trash name under `<root>/.tmp` that recovery knows belongs to this model. */
export function tmpName(paths: ModelPaths, what: string): string {
  return path.join(paths.tmp, `${paths.model}@${what}.${randomBytes(6).toString('hex')}`);
}

/** The version a pointer names (`current` → `versions/2` → `2`), or null when there is no pointer. */
export async function readPointer(link: string): Promise<string | null> {
  let target: string;
  try {
    target = await readlink(link);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new InputError(
      `${link}: not a symlink kiln-agent wrote (${(error as NodeJS.ErrnoException).code})`,
      {
        cause: error,
      },
    );
  }
  const parts = target.split('/');
  if (parts.length !== 2 || parts[0] !== 'versions' || !parts[1]) {
    throw new InputError(`${link}: points to '${target}', expected versions/<version>`);
  }
  return parts[1];
}

/**
 * Points `link` at `versions/<version>` atomically: a `<link>.tmp-<pid>` symlink renamed over it.
 * `beforeRename` runs between the two (the crash test hook).
 */
export async function setPointer(link: string, version: string, beforeRename?: () => void): Promise<void> {
  const tmp = `${link}.tmp-${process.pid}`;
  await rm(tmp, { force: true });
  await symlink(path.posix.join('versions', version), tmp);
  beforeRename?.();
  await rename(tmp, link);
}

/** `deploy.json`: the deploy in progress, so the next one can tell a crash from a clean stop. */
export interface DeployJournal {
  version: string;
  step: DeployStep;
  startedAt: string;
  pid: number;
}

/** Writes the journal through a temp file + rename, so a crash leaves the old journal or the new one. */
export async function writeJournal(paths: ModelPaths, journal: DeployJournal): Promise<void> {
  const tmp = `${paths.journal}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(journal)}\n`);
  await rename(tmp, paths.journal);
}

/** The journal, or undefined when no deploy was in progress; an unreadable one counts as stale. */
export async function readJournal(paths: ModelPaths): Promise<DeployJournal | undefined> {
  try {
    const journal = JSON.parse(await readFile(paths.journal, 'utf8')) as DeployJournal;
    return typeof journal.version === 'string' && typeof journal.pid === 'number'
      ? journal
      : { version: '', step: 'pull', startedAt: '?', pid: 0 };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { version: '', step: 'pull', startedAt: '?', pid: 0 };
  }
}

/** Removes the journal: the deploy is over, whichever way it went. */
export async function clearJournal(paths: ModelPaths): Promise<void> {
  await rm(paths.journal, { force: true });
}

/** Deletes a folder by renaming it into trash first: rename is atomic, deleting a tree is not. */
export async function removeTree(paths: ModelPaths, dir: string): Promise<void> {
  const trash = tmpName(paths, 'trash');
  await mkdir(paths.tmp, { recursive: true });
  try {
    await rename(dir, trash);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  await rm(trash, { recursive: true, force: true });
}

/** A held per-model lock; release it in `finally`. */
export interface ModelLock {
  release(): Promise<void>;
}

/**
 * Takes the model's deploy lock (`<root>/<model>/.deploy.lock`), so two deploys or rollbacks of one
 * model never interleave their switches. A live holder is refused at once, naming it: a second
 * deploy waiting behind the first would then run against a serving version it never saw. A lock
 * left by a dead process is reclaimed (then recovery cleans up after it).
 */
export async function lockModel(paths: ModelPaths, command: string): Promise<ModelLock> {
  try {
    await mkdir(paths.dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${paths.dir}: cannot create the serving folder (${code})`, { cause: error });
  }
  try {
    const lock = await acquireFileLock(paths.lock, command);
    return { release: () => lock.release() };
  } catch (error) {
    if (!(error instanceof FileLockError)) throw error;
    const why =
      error.reason === 'held'
        ? `${describeOwner(error.details.owner)} is deploying it; wait for it to finish, or delete ${paths.lock} if that process is gone`
        : `cannot take ${paths.lock} (${error.details.code ?? error.reason})`;
    throw new InputError(`${paths.model}: ${why}`, { cause: error });
  }
}
