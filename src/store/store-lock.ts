import { open, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../core/errors.js';

const BREAKER_STALE_MS = 10_000;

interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

/** A held store lock; release it in `finally`. */
export interface StoreLock {
  release(): Promise<void>;
}

/**
 * Takes the store's exclusive lock (`<store>/.lock`, created with O_EXCL). A lock left by a process
 * that no longer exists on this host is reclaimed, so a crashed build never wedges the store; a live
 * one is refused with one line naming its owner rather than waited on, because two builds writing
 * the same keys would only duplicate minutes of compile work.
 */
export async function acquireStoreLock(storeDir: string, command: string): Promise<StoreLock> {
  const lockPath = path.join(storeDir, '.lock');
  const me: LockOwner = {
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    command,
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(JSON.stringify(me));
      await handle.close();
      return { release: () => rm(lockPath, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new InputError(
          `${storeDir}: cannot lock the store (${(error as NodeJS.ErrnoException).code})`,
          {
            cause: error,
          },
        );
      }
    }
    const owner = await readOwner(lockPath);
    if (owner && owner.host === me.host && !isAlive(owner.pid)) {
      await breakStaleLock(lockPath, owner);
      continue;
    }
    if (!owner) {
      // Written but not yet filled by a concurrent taker: give it a moment, then look again.
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (attempt < 4) continue;
    }
    const who = owner
      ? `pid ${owner.pid} on ${owner.host} (${owner.command}, since ${owner.startedAt})`
      : 'another process';
    throw new InputError(
      `${storeDir}: store is locked by ${who}; wait for it to finish, or delete ${lockPath} if that process is gone`,
    );
  }
  throw new InputError(`${storeDir}: could not take the store lock at ${lockPath}`);
}

/**
 * Removes a dead owner's lock without racing other reclaimers: reading the owner and deleting the
 * file are two steps, so a slow reclaimer could delete the fresh lock a fast one just took. Only the
 * holder of `<lock>.break` (O_EXCL) may delete, and only if the lock still names the dead owner.
 */
async function breakStaleLock(lockPath: string, stale: LockOwner): Promise<void> {
  const breaker = `${lockPath}.break`;
  try {
    await (await open(breaker, 'wx')).close();
  } catch {
    // Someone else is breaking it; a breaker left by a crash mid-break is itself stale after a while.
    const age = await stat(breaker).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > BREAKER_STALE_MS) await rm(breaker, { force: true });
    await new Promise((resolve) => setTimeout(resolve, 20));
    return;
  }
  try {
    const current = await readOwner(lockPath);
    if (current && current.pid === stale.pid && current.startedAt === stale.startedAt) {
      await rm(lockPath, { force: true });
    }
  } finally {
    await rm(breaker, { force: true });
  }
}

async function readOwner(lockPath: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(lockPath, 'utf8')) as LockOwner;
    return typeof owner.pid === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
