import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../core/errors.js';
import { checkArtifactFiles, engineHashProblem, type ArtifactRecord } from './artifact.js';
import { acquireStoreLock, type StoreLock } from './store-lock.js';

export interface StoredArtifact {
  dir: string;
  enginePath: string;
  record: ArtifactRecord;
}

/** A folder being filled for one artifact; nothing in it is visible to lookups until `commit`. */
export interface Staging {
  dir: string;
  commit(record: ArtifactRecord): Promise<StoredArtifact>;
  discard(): Promise<void>;
}

export type LookupResult =
  { status: 'hit'; artifact: StoredArtifact } | { status: 'miss' } | { status: 'corrupt'; reason: string };

/**
 * The local directory store: `<store>/<model>/<key>/engine.<ext> + artifact.json`. Artifacts are
 * staged under `<store>/.tmp` on the same filesystem and renamed into place, so a crash or a failed
 * gate never leaves a half artifact that a later lookup would trust.
 */
/** The writes the store makes, injectable so tests can stand in for a read-only filesystem as root. */
export interface StoreFs {
  mkdir: typeof mkdir;
  writeFile: typeof writeFile;
  rename: typeof rename;
  rm: typeof rm;
}

const NODE_FS: StoreFs = { mkdir, writeFile, rename, rm };

/** What a failed write says when the store is read-only (mount, permissions, policy) rather than broken. */
const READ_ONLY_CODES = new Set(['EROFS', 'EACCES', 'EPERM']);

export class LocalStore {
  /** The errno that made the store read-only, once `open` found it so. */
  private readOnlyCode: string | undefined;

  constructor(
    readonly dir: string,
    private readonly fs: StoreFs = NODE_FS,
  ) {}

  /**
   * Creates the store if needed and probes whether it can be written. A read-only store (EROFS,
   * EACCES, EPERM) still serves cache hits: only writes are refused, by `assertWritable`. Anything
   * else (a file in the way, ...) is one line naming the folder.
   */
  async open(): Promise<'writable' | 'read-only'> {
    const probe = path.join(this.dir, '.tmp', `probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await this.fs.mkdir(path.dirname(probe), { recursive: true });
      await this.fs.writeFile(probe, '');
      await this.fs.rm(probe, { force: true });
      this.readOnlyCode = undefined;
      return 'writable';
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code && READ_ONLY_CODES.has(code)) {
        this.readOnlyCode = code;
        return 'read-only';
      }
      const why = code === 'ENOTDIR' || code === 'EEXIST' ? 'a file is in the way' : code;
      throw new InputError(`${this.dir}: store is not writable (${why})`, { cause: error });
    }
  }

  /** Whether `open` found the store read-only. */
  get readOnly(): boolean {
    return this.readOnlyCode !== undefined;
  }

  /** Refuses `what` (e.g. "artifact det/<key>") in one line when `open` found the store read-only. */
  assertWritable(what: string): void {
    if (this.readOnlyCode === undefined) return;
    throw new InputError(
      `${this.dir}: store is read-only (${this.readOnlyCode}): cannot write ${what}; cache hits are served from it, but a build that must store an engine needs a writable store`,
    );
  }

  lock(command: string): Promise<StoreLock> {
    return acquireStoreLock(this.dir, command);
  }

  artifactDir(model: string, key: string): string {
    return path.join(this.dir, model, key);
  }

  /** Finds a committed artifact and re-hashes its engine: a tampered or truncated engine is never a hit. */
  async lookup(model: string, key: string): Promise<LookupResult> {
    const dir = this.artifactDir(model, key);
    let record: ArtifactRecord;
    try {
      record = JSON.parse(await readFile(path.join(dir, 'artifact.json'), 'utf8')) as ArtifactRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        const exists = await stat(dir).then(
          () => true,
          () => false,
        );
        return exists ? { status: 'corrupt', reason: 'artifact.json is missing' } : { status: 'miss' };
      }
      return { status: 'corrupt', reason: `artifact.json is unreadable (${(error as Error).message})` };
    }
    if (record.schema !== 'kiln.artifact/v1' || record.key !== key) {
      return { status: 'corrupt', reason: `artifact.json does not describe key ${key}` };
    }
    // A record naming files outside its folder is refused, not rebuilt over: someone wrote it.
    await checkArtifactFiles(dir, record, path.join(dir, 'artifact.json'));
    const problem = await engineHashProblem(dir, record);
    if (problem) return { status: 'corrupt', reason: `engine ${problem}` };
    return { status: 'hit', artifact: { dir, enginePath: path.join(dir, record.engine.file), record } };
  }

  /** A fresh staging folder for `model`/`key`. */
  async stage(model: string, key: string): Promise<Staging> {
    this.assertWritable(`the new artifact ${model}/${key}`);
    const dir = path.join(this.dir, '.tmp', `${model}-${key.slice(0, 12)}-${randomBytes(6).toString('hex')}`);
    await this.fs.mkdir(dir, { recursive: true });
    const finalDir = this.artifactDir(model, key);
    return {
      dir,
      commit: async (record) => {
        // artifact.json is written last: its presence is what makes a folder an artifact.
        await this.fs.writeFile(path.join(dir, 'artifact.json'), `${JSON.stringify(record, null, 2)}\n`);
        await this.fs.mkdir(path.dirname(finalDir), { recursive: true });
        await this.moveAside(finalDir);
        await this.fs.rename(dir, finalDir);
        return { dir: finalDir, enginePath: path.join(finalDir, record.engine.file), record };
      },
      discard: () => this.fs.rm(dir, { recursive: true, force: true }),
    };
  }

  /** Removes staging folders that a crashed build left behind; call while holding the lock. */
  async sweepStaging(): Promise<void> {
    await this.fs.rm(path.join(this.dir, '.tmp'), { recursive: true, force: true });
  }

  /** Renames a corrupt artifact out of the way (rename is atomic; deleting a tree is not). */
  private async moveAside(finalDir: string): Promise<void> {
    const trash = path.join(this.dir, '.tmp', `trash-${randomBytes(6).toString('hex')}`);
    try {
      await this.fs.rename(finalDir, trash);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    await this.fs.rm(trash, { recursive: true, force: true });
  }
}
