import path from 'node:path';
import { InputError } from '../core/errors.js';
import { acquireFileLock, describeOwner, FileLockError } from '../core/io/file-lock.js';

/** A held store lock; release it in `finally`. */
export interface StoreLock {
  release(): Promise<void>;
}

/**
 * Takes the store's exclusive lock (`<store>/.lock`, see `acquireFileLock`). A lock left by a
 * process that no longer exists on this host is reclaimed, so a crashed build never wedges the
 * store; a live one is refused with one line naming its owner rather than waited on, because two
 * builds writing the same keys would only duplicate minutes of compile work.
 */
export async function acquireStoreLock(storeDir: string, command: string): Promise<StoreLock> {
  const lockPath = path.join(storeDir, '.lock');
  try {
    const lock = await acquireFileLock(lockPath, command);
    return { release: () => lock.release() };
  } catch (error) {
    if (!(error instanceof FileLockError)) throw error;
    // The store's own wording: users and scripts already match on these lines.
    switch (error.reason) {
      case 'unwritable':
        throw new InputError(`${storeDir}: cannot lock the store (${error.details.code})`, {
          cause: error.details.cause,
        });
      case 'held':
        throw new InputError(
          `${storeDir}: store is locked by ${describeOwner(error.details.owner)}; wait for it to finish, or delete ${lockPath} if that process is gone`,
          { cause: error },
        );
      case 'contended':
        throw new InputError(`${storeDir}: could not take the store lock at ${lockPath}`, { cause: error });
    }
  }
}
