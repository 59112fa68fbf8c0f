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
export class LocalStore {
  constructor(readonly dir: string) {}

  /** Creates the store if needed and proves it writable, with one line naming the folder if not. */
  async ensureWritable(): Promise<void> {
    const probe = path.join(this.dir, '.tmp', `probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await mkdir(path.dirname(probe), { recursive: true });
      await writeFile(probe, '');
      await rm(probe, { force: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOTDIR' || code === 'EEXIST' ? 'a file is in the way' : code;
      throw new InputError(`${this.dir}: store is not writable (${why})`, { cause: error });
    }
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
    const dir = path.join(this.dir, '.tmp', `${model}-${key.slice(0, 12)}-${randomBytes(6).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    const finalDir = this.artifactDir(model, key);
    return {
      dir,
      commit: async (record) => {
        // artifact.json is written last: its presence is what makes a folder an artifact.
        await writeFile(path.join(dir, 'artifact.json'), `${JSON.stringify(record, null, 2)}\n`);
        await mkdir(path.dirname(finalDir), { recursive: true });
        await this.moveAside(finalDir);
        await rename(dir, finalDir);
        return { dir: finalDir, enginePath: path.join(finalDir, record.engine.file), record };
      },
      discard: () => rm(dir, { recursive: true, force: true }),
    };
  }

  /** Removes staging folders that a crashed build left behind; call while holding the lock. */
  async sweepStaging(): Promise<void> {
    await rm(path.join(this.dir, '.tmp'), { recursive: true, force: true });
  }

  /** Renames a corrupt artifact out of the way (rename is atomic; deleting a tree is not). */
  private async moveAside(finalDir: string): Promise<void> {
    const trash = path.join(this.dir, '.tmp', `trash-${randomBytes(6).toString('hex')}`);
    try {
      await rename(finalDir, trash);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    await rm(trash, { recursive: true, force: true });
  }
}
