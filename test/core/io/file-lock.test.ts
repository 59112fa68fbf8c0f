import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireFileLock, FileLockError, type LockOwner } from '../../../src/core/io/file-lock.js';

let tmp: string;
let lockPath: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-file-lock-'));
  lockPath = path.join(tmp, 'x.lock');
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid!;
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return pid;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function failure(promise: Promise<unknown>): Promise<FileLockError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FileLockError);
  return error as FileLockError;
}

describe('acquireFileLock', () => {
  it('writes its owner, refuses a second taker naming it, and release frees the path', async () => {
    const lock = await acquireFileLock(lockPath, 'job A');
    const owner = JSON.parse(await readFile(lockPath, 'utf8')) as LockOwner;
    expect(owner).toMatchObject({ pid: process.pid, host: os.hostname(), command: 'job A' });
    expect(owner.token).toMatch(/^[0-9a-f]{16}$/);

    const error = await failure(acquireFileLock(lockPath, 'job B'));
    expect(error.reason).toBe('held');
    expect(error.details.owner?.command).toBe('job A');
    expect(error.message).toContain(`pid ${process.pid}`);
    expect(error.message).not.toContain('\n');

    await lock.release();
    await lock.release();
    expect(existsSync(lockPath)).toBe(false);
    await (await acquireFileLock(lockPath, 'job B')).release();
  });

  it('waits for a live owner and takes the lock once it is released', async () => {
    const first = await acquireFileLock(lockPath, 'first');
    const started = Date.now();
    setTimeout(() => void first.release(), 150);
    const second = await acquireFileLock(lockPath, 'second', { wait: { timeoutMs: 5_000, pollMs: 10 } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(second.owner.command).toBe('second');
    await second.release();
  });

  it('gives up after the timeout with one line naming the owner', async () => {
    const held = await acquireFileLock(lockPath, 'long build');
    const started = Date.now();
    const error = await failure(
      acquireFileLock(lockPath, 'waiter', { wait: { timeoutMs: 200, pollMs: 20 } }),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(error.reason).toBe('held');
    expect(error.message).toBe(
      `${lockPath}: still locked by pid ${process.pid} on ${os.hostname()} (long build, since ${held.owner.startedAt}) after waiting 200 ms`,
    );
    await held.release();
  });

  it('reclaims the lock of a dead process on this host, waiting or not', async () => {
    for (const options of [{}, { wait: { timeoutMs: 1_000 } }]) {
      const stale = {
        pid: await deadPid(),
        host: os.hostname(),
        startedAt: '2020-01-01T00:00:00.000Z',
        command: 'crashed',
      };
      await writeFile(lockPath, JSON.stringify(stale));
      const lock = await acquireFileLock(lockPath, 'next', options);
      expect((JSON.parse(await readFile(lockPath, 'utf8')) as LockOwner).pid).toBe(process.pid);
      await lock.release();
    }
  });

  it('waits out a lock file that is empty until its writer fills or removes it', async () => {
    await writeFile(lockPath, '');
    setTimeout(() => void rm(lockPath), 100);
    const lock = await acquireFileLock(lockPath, 'patient', { wait: { timeoutMs: 5_000, pollMs: 10 } });
    await lock.release();
  });

  it('release leaves alone a lock that is no longer ours', async () => {
    const lock = await acquireFileLock(lockPath, 'mine');
    await rm(lockPath);
    const theirs = await acquireFileLock(lockPath, 'theirs');
    await lock.release();
    expect((JSON.parse(await readFile(lockPath, 'utf8')) as LockOwner).command).toBe('theirs');
    await theirs.release();
  });

  it('a missing folder is an unwritable lock carrying the errno', async () => {
    const error = await failure(acquireFileLock(path.join(tmp, 'absent', 'x.lock'), 'job'));
    expect(error.reason).toBe('unwritable');
    expect(error.details.code).toBe('ENOENT');
    expect(error.cause).toBeDefined();
  });

  it('waiters racing for a stale lock hold it one at a time', async () => {
    const stale = {
      pid: await deadPid(),
      host: os.hostname(),
      startedAt: '2020-01-01T00:00:00.000Z',
      command: 'crashed',
    };
    for (let round = 0; round < 20; round++) {
      await writeFile(lockPath, JSON.stringify(stale));
      let active = 0;
      let most = 0;
      await Promise.all(
        [1, 2, 3].map(async (n) => {
          const lock = await acquireFileLock(lockPath, `job ${n}`, { wait: { timeoutMs: 5_000, pollMs: 2 } });
          most = Math.max(most, ++active);
          await sleep(2);
          active--;
          await lock.release();
        }),
      );
      expect(most).toBe(1);
    }
  });
});
