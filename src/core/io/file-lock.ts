import { randomBytes } from 'node:crypto';
import { open, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { InputError } from '../errors.js';

/** A breaker older than this was left by a reclaimer that crashed mid-break. */
const BREAKER_STALE_MS = 10_000;
/** Without `wait`, how many times a lock is re-tried (stale reclaims, half-written owners). */
const MAX_ATTEMPTS = 5;

/** What a lock file holds: enough to name the owner in an error and to tell whether it is gone. */
export interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
  /** Random per acquisition: pid and startedAt can repeat within one process and one millisecond. */
  token?: string;
}

/** A held lock; release it in `finally`. */
export interface FileLock {
  readonly path: string;
  readonly owner: LockOwner;
  /** Removes the lock file if it is still ours; safe to call twice. */
  release(): Promise<void>;
}

export interface FileLockOptions {
  /** Wait for a live owner up to `timeoutMs`, looking again every `pollMs`, instead of failing at once. */
  wait?: { timeoutMs: number; pollMs?: number };
}

/**
 * Why a lock was not taken: `held` by a live (or unreadable) owner, `unwritable` (the folder is
 * missing or read-only; `code` is the errno), or `contended` (stale-lock reclaims kept losing).
 */
export type FileLockFailure = 'held' | 'unwritable' | 'contended';

/** A lock that could not be taken; wrappers re-word it from `reason`, `owner` and `code`. */
export class FileLockError extends InputError {
  constructor(
    message: string,
    readonly reason: FileLockFailure,
    readonly lockPath: string,
    readonly details: { owner?: LockOwner; code?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? {} : { cause: details.cause });
  }
}

/**
 * Takes an exclusive lock: `lockPath` is created with O_EXCL and holds the owner as JSON. A lock left
 * by a process that no longer exists on this host is reclaimed, so a crash never wedges later jobs;
 * a lock of a live process (or one on another host, whose pids mean nothing here) is refused with
 * one line naming the owner, or waited on up to `wait.timeoutMs`.
 */
export async function acquireFileLock(
  lockPath: string,
  command: string,
  options: FileLockOptions = {},
): Promise<FileLock> {
  const me: LockOwner = {
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    command,
    token: randomBytes(8).toString('hex'),
  };
  const wait = options.wait;
  const deadline = wait ? Date.now() + wait.timeoutMs : 0;
  let attempt = 0;
  for (;;) {
    if (await tryCreate(lockPath, me)) return heldLock(lockPath, me);
    const owner = await readLockOwner(lockPath);
    if (owner && owner.host === me.host && !isAlive(owner.pid)) {
      await breakStaleLock(lockPath, owner);
      if (++attempt < MAX_ATTEMPTS || (wait && Date.now() < deadline)) continue;
      throw new FileLockError(`${lockPath}: could not take the lock`, 'contended', lockPath);
    }
    if (wait) {
      const left = deadline - Date.now();
      if (left > 0) {
        await sleep(Math.min(wait.pollMs ?? 100, left));
        continue;
      }
      throw new FileLockError(
        `${lockPath}: still locked by ${describeOwner(owner)} after waiting ${wait.timeoutMs} ms`,
        'held',
        lockPath,
        { owner },
      );
    }
    if (!owner) {
      // Created but not yet filled by a concurrent taker: give it a moment, then look again.
      await sleep(50);
      if (++attempt < MAX_ATTEMPTS) continue;
    }
    throw new FileLockError(
      `${lockPath}: locked by ${describeOwner(owner)}; wait for it to finish, or delete ${lockPath} if that process is gone`,
      'held',
      lockPath,
      { owner },
    );
  }
}

/** One line naming a lock's owner, for messages: `pid 12 on host (command, since ISO time)`. */
export function describeOwner(owner: LockOwner | undefined): string {
  return owner
    ? `pid ${owner.pid} on ${owner.host} (${owner.command}, since ${owner.startedAt})`
    : 'another process';
}

/** The owner a lock file names, or undefined when it is missing, half-written or not a lock. */
export async function readLockOwner(lockPath: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(lockPath, 'utf8')) as LockOwner;
    return typeof owner.pid === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` exists on this host (EPERM: it exists but belongs to another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function tryCreate(lockPath: string, me: LockOwner): Promise<boolean> {
  try {
    const handle = await open(lockPath, 'wx');
    try {
      await handle.writeFile(JSON.stringify(me));
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    throw new FileLockError(`${lockPath}: cannot take the lock (${code})`, 'unwritable', lockPath, {
      code,
      cause: error,
    });
  }
}

function heldLock(lockPath: string, me: LockOwner): FileLock {
  let released = false;
  return {
    path: lockPath,
    owner: me,
    release: async () => {
      if (released) return;
      released = true;
      // Only delete what is still ours: if the file was removed by hand and retaken, it is not.
      const current = await readLockOwner(lockPath);
      if (current && sameOwner(current, me)) await rm(lockPath, { force: true });
    },
  };
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
    await sleep(20);
    return;
  }
  try {
    const current = await readLockOwner(lockPath);
    if (current && sameOwner(current, stale)) await rm(lockPath, { force: true });
  } finally {
    await rm(breaker, { force: true });
  }
}

function sameOwner(a: LockOwner, b: LockOwner): boolean {
  return a.pid === b.pid && a.startedAt === b.startedAt && a.token === b.token;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
