import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { sha256 } from '../../src/core/hashing.js';
import { describeEngineFiles, engineHashProblem, type ArtifactRecord } from '../../src/store/artifact.js';
import { LocalStore } from '../../src/store/local-store.js';
import { acquireStoreLock } from '../../src/store/store-lock.js';

const KEY = 'ab'.repeat(32);
const OTHER_KEY = 'cd'.repeat(32);
const ENGINE = new TextEncoder().encode('pretend this is an ORT-format engine');

function record(key: string, engineBytes: Uint8Array = ENGINE): ArtifactRecord {
  const latency = {
    n: 30,
    p50: 10,
    p90: 11,
    p99: 12,
    mean: 10.2,
    stddev: 0.5,
    min: 9,
    max: 12,
    stable: true,
    stabilityPct: 5,
    warmup: 5,
    threads: 1,
    coldStart: { createMs: 30, firstRunMs: 20 },
  };
  return {
    schema: 'kiln.artifact/v1',
    model: 'det',
    profile: 's384',
    precision: 'fp32',
    key,
    keyInputs: { model: 'aa' },
    tags: {
      backend: 'onnxruntime-cpu',
      backendVersion: '1.30.0',
      hardware: { kind: 'cpu' },
      kilnVersion: '0.1.0',
    },
    engine: { file: 'engine.ort', sha256: sha256(engineBytes), bytes: engineBytes.length },
    golden: { pass: true, source: 'synthetic', samples: 1, outputs: [], specSha256: 'ee', samplesFiles: [] },
    latency: { engine: latency },
    notes: [],
    createdAt: '2025-01-01T00:00:00.000Z',
  };
}

let tmp: string;
let store: LocalStore;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-store-'));
  store = new LocalStore(path.join(tmp, 'store'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Stages an engine and commits it under `key`. */
async function put(key: string, bytes: Uint8Array = ENGINE) {
  const staging = await store.stage('det', key);
  await writeFile(path.join(staging.dir, 'engine.ort'), bytes);
  return staging.commit(record(key, bytes));
}

describe('LocalStore stage, commit and lookup', () => {
  it('a committed artifact is a hit with its record and engine path', async () => {
    const stored = await put(KEY);
    expect(stored.dir).toBe(path.join(store.dir, 'det', KEY));
    const result = await store.lookup('det', KEY);
    expect(result.status).toBe('hit');
    if (result.status !== 'hit') return;
    expect(result.artifact.enginePath).toBe(path.join(store.dir, 'det', KEY, 'engine.ort'));
    expect(result.artifact.record).toEqual(record(KEY));
    expect(new Uint8Array(await readFile(result.artifact.enginePath))).toEqual(ENGINE);
    // Staging folder is gone once committed.
    expect(await readdir(path.join(store.dir, '.tmp'))).toEqual([]);
  });

  it('an unknown key is a miss', async () => {
    await put(KEY);
    expect(await store.lookup('det', OTHER_KEY)).toEqual({ status: 'miss' });
    expect(await store.lookup('rec', KEY)).toEqual({ status: 'miss' });
  });

  it('a staged but uncommitted artifact is invisible', async () => {
    const staging = await store.stage('det', KEY);
    await writeFile(path.join(staging.dir, 'engine.ort'), ENGINE);
    await writeFile(path.join(staging.dir, 'artifact.json'), JSON.stringify(record(KEY)));
    expect(await store.lookup('det', KEY)).toEqual({ status: 'miss' });
    expect(existsSync(path.join(store.dir, 'det'))).toBe(false);
    expect(staging.dir.startsWith(path.join(store.dir, '.tmp') + path.sep)).toBe(true);
  });

  it('discard leaves nothing behind', async () => {
    const staging = await store.stage('det', KEY);
    await writeFile(path.join(staging.dir, 'engine.ort'), ENGINE);
    await staging.discard();
    expect(existsSync(staging.dir)).toBe(false);
    expect(await readdir(path.join(store.dir, '.tmp'))).toEqual([]);
    expect(await store.lookup('det', KEY)).toEqual({ status: 'miss' });
  });

  it('two stagings of the same key get separate folders', async () => {
    const a = await store.stage('det', KEY);
    const b = await store.stage('det', KEY);
    expect(a.dir).not.toBe(b.dir);
  });

  it('tampered engine bytes are corrupt, naming both sha prefixes', async () => {
    const stored = await put(KEY);
    const tampered = new TextEncoder().encode('pretend this is an ORT-format enginf');
    await writeFile(stored.enginePath, tampered);
    const result = await store.lookup('det', KEY);
    expect(result.status).toBe('corrupt');
    if (result.status !== 'corrupt') return;
    expect(result.reason).toContain(sha256(tampered).slice(0, 12));
    expect(result.reason).toContain(sha256(ENGINE).slice(0, 12));
    expect(result.reason).not.toContain('\n');
  });

  it('files an engine needs beside it (external data) are verified like the engine', async () => {
    const weights = new TextEncoder().encode('external weights of an .onnx engine');
    const staging = await store.stage('det', KEY);
    await writeFile(path.join(staging.dir, 'engine.ort'), ENGINE);
    await mkdir(path.join(staging.dir, 'w'));
    await writeFile(path.join(staging.dir, 'w', 'weights.data'), weights);
    const described = await describeEngineFiles(staging.dir, ['w/weights.data']);
    expect(described).toEqual([{ file: 'w/weights.data', sha256: sha256(weights), bytes: weights.length }]);
    const base = record(KEY);
    const stored = await staging.commit({ ...base, engine: { ...base.engine, files: described } });
    expect((await store.lookup('det', KEY)).status).toBe('hit');
    const tampered = Uint8Array.from(weights, (b, i) => (i === 0 ? b ^ 1 : b));
    await writeFile(path.join(stored.dir, 'w', 'weights.data'), tampered);
    expect(await store.lookup('det', KEY)).toEqual({
      status: 'corrupt',
      reason: `engine file w/weights.data: sha256 ${sha256(tampered).slice(0, 12)} differs from artifact.json's ${sha256(weights).slice(0, 12)}`,
    });
    await rm(path.join(stored.dir, 'w', 'weights.data'));
    expect(await store.lookup('det', KEY)).toMatchObject({
      status: 'corrupt',
      reason: expect.stringContaining('file w/weights.data: missing'),
    });
  });

  it('a truncated or deleted engine is corrupt', async () => {
    const stored = await put(KEY);
    await writeFile(stored.enginePath, ENGINE.subarray(0, 10));
    expect((await store.lookup('det', KEY)).status).toBe('corrupt');
    await rm(stored.enginePath);
    const result = await store.lookup('det', KEY);
    expect(result).toMatchObject({ status: 'corrupt', reason: expect.stringContaining('missing') });
  });

  it('an engine that cannot be read (not missing) is an error naming why, not a hash mismatch to rebuild over', async () => {
    const stored = await put(KEY);
    await rm(stored.enginePath);
    await mkdir(stored.enginePath); // reading it fails with EISDIR, as EACCES or EIO would
    // (lookup refuses a non-regular engine earlier; the hash check itself must not call it corrupt)
    await expect(engineHashProblem(path.dirname(stored.enginePath), stored.record)).rejects.toThrow(
      /cannot read \(EISDIR\)/,
    );
    await rm(stored.enginePath, { recursive: true });
    expect(await engineHashProblem(path.dirname(stored.enginePath), stored.record)).toBe('missing');
  });

  it('a key folder without artifact.json is corrupt, not a miss', async () => {
    await mkdir(path.join(store.dir, 'det', KEY), { recursive: true });
    await writeFile(path.join(store.dir, 'det', KEY, 'engine.ort'), ENGINE);
    expect(await store.lookup('det', KEY)).toEqual({ status: 'corrupt', reason: 'artifact.json is missing' });
  });

  it('unreadable or foreign artifact.json is corrupt', async () => {
    const stored = await put(KEY);
    await writeFile(path.join(stored.dir, 'artifact.json'), '{ half a record');
    expect((await store.lookup('det', KEY)).status).toBe('corrupt');
    await writeFile(path.join(stored.dir, 'artifact.json'), JSON.stringify(record(OTHER_KEY)));
    expect(await store.lookup('det', KEY)).toEqual({
      status: 'corrupt',
      reason: `artifact.json does not describe key ${KEY}`,
    });
  });

  it('commit over a corrupt entry replaces it whole', async () => {
    const dir = path.join(store.dir, 'det', KEY);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'engine.ort'), 'garbage');
    await writeFile(path.join(dir, 'leftover.bin'), 'junk');
    expect((await store.lookup('det', KEY)).status).toBe('corrupt');

    await put(KEY);
    expect((await store.lookup('det', KEY)).status).toBe('hit');
    expect((await readdir(dir)).sort()).toEqual(['artifact.json', 'engine.ort']);
    expect(await readdir(path.join(store.dir, '.tmp'))).toEqual([]);
  });

  it('sweepStaging removes what a crashed build left', async () => {
    const staging = await store.stage('det', KEY);
    await writeFile(path.join(staging.dir, 'engine.ort'), ENGINE);
    await put(OTHER_KEY);
    await store.sweepStaging();
    expect(existsSync(staging.dir)).toBe(false);
    expect(existsSync(path.join(store.dir, '.tmp'))).toBe(false);
    // Committed artifacts survive the sweep.
    expect((await store.lookup('det', OTHER_KEY)).status).toBe('hit');
  });
});

describe('LocalStore.open', () => {
  it('creates the store folder', async () => {
    expect(await store.open()).toBe('writable');
    expect(existsSync(store.dir)).toBe(true);
    expect(await readdir(path.join(store.dir, '.tmp'))).toEqual([]);
  });

  it('a regular file where the store should be is one line naming the folder', async () => {
    await writeFile(store.dir, 'not a folder');
    await expect(store.open()).rejects.toThrow(
      new InputError(`${store.dir}: store is not writable (a file is in the way)`),
    );
  });

  it('a regular file at the staging folder is refused too', async () => {
    await mkdir(store.dir, { recursive: true });
    await writeFile(path.join(store.dir, '.tmp'), 'in the way');
    await expect(store.open()).rejects.toThrow(`${store.dir}: store is not writable (a file is in the way)`);
  });

  it('a file in place of a parent folder is refused', async () => {
    await writeFile(path.join(tmp, 'blocker'), 'x');
    const nested = new LocalStore(path.join(tmp, 'blocker', 'store'));
    const error = await nested.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain(`${nested.dir}: store is not writable`);
    expect((error as Error).message).not.toContain('\n');
  });
});

/** The pid of a process that has exited, so cannot be alive any more. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid!;
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return pid;
}

describe('store lock', () => {
  it('a second acquire while held is refused, naming the pid and the lock path', async () => {
    await mkdir(store.dir, { recursive: true });
    const lock = await store.lock('kiln build');
    const lockPath = path.join(store.dir, '.lock');
    const owner = JSON.parse(await readFile(lockPath, 'utf8')) as Record<string, unknown>;
    expect(owner).toMatchObject({ pid: process.pid, host: os.hostname(), command: 'kiln build' });

    const error = await store.lock('kiln build --target cpu').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    const message = (error as Error).message;
    expect(message).toContain(`pid ${process.pid}`);
    expect(message).toContain(lockPath);
    expect(message).toContain('kiln build');
    expect(message).not.toContain('\n');
    await lock.release();
  });

  it('release removes the lock file so the next build can lock', async () => {
    await mkdir(store.dir, { recursive: true });
    const lock = await store.lock('kiln build');
    await lock.release();
    expect(existsSync(path.join(store.dir, '.lock'))).toBe(false);
    const again = await store.lock('kiln build');
    await again.release();
  });

  it('a stale lock of a dead process on this host is reclaimed', async () => {
    await mkdir(store.dir, { recursive: true });
    const lockPath = path.join(store.dir, '.lock');
    const pid = await deadPid();
    await writeFile(
      lockPath,
      JSON.stringify({
        pid,
        host: os.hostname(),
        startedAt: '2020-01-01T00:00:00.000Z',
        command: 'kiln build',
      }),
    );
    const lock = await acquireStoreLock(store.dir, 'kiln build');
    const owner = JSON.parse(await readFile(lockPath, 'utf8')) as { pid: number };
    expect(owner.pid).toBe(process.pid);
    await lock.release();
  });

  it('a lock held by a dead-looking pid on another host is not reclaimed', async () => {
    await mkdir(store.dir, { recursive: true });
    const pid = await deadPid();
    await writeFile(
      path.join(store.dir, '.lock'),
      JSON.stringify({
        pid,
        host: 'other-runner',
        startedAt: '2020-01-01T00:00:00.000Z',
        command: 'kiln build',
      }),
    );
    await expect(acquireStoreLock(store.dir, 'kiln build')).rejects.toThrow(`pid ${pid} on other-runner`);
  });

  it('an unreadable lock file is refused with a hint to delete it', async () => {
    await mkdir(store.dir, { recursive: true });
    const lockPath = path.join(store.dir, '.lock');
    await writeFile(lockPath, 'garbage');
    await expect(acquireStoreLock(store.dir, 'kiln build')).rejects.toThrow(
      `store is locked by another process; wait for it to finish, or delete ${lockPath}`,
    );
  });

  it('a missing store folder is one line naming it', async () => {
    await expect(acquireStoreLock(store.dir, 'kiln build')).rejects.toThrow(
      new InputError(`${store.dir}: cannot lock the store (ENOENT)`),
    );
  });

  it('of two concurrent acquires exactly one wins', async () => {
    await mkdir(store.dir, { recursive: true });
    const results = await Promise.allSettled([
      acquireStoreLock(store.dir, 'build A'),
      acquireStoreLock(store.dir, 'build B'),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(InputError);
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
  });
});

describe('store lock reclaim race', () => {
  // Regression (was a bug in src/store/store-lock.ts acquireStoreLock, the stale-lock branch `rm(lockPath)` then
  // `continue`): reading the stale owner and deleting the lock file are not one atomic step, so a
  // taker that saw the stale lock can delete the lock a faster taker has just created, and both then
  // hold the "exclusive" lock. Seen in roughly 1 of 15 rounds of three concurrent takers.
  it('three concurrent takers of a stale lock never both win', async () => {
    const pid = await deadPid();
    let most = 0;
    for (let round = 0; round < 400 && most <= 1; round++) {
      const dir = path.join(tmp, `race-${round}`);
      await mkdir(dir);
      await writeFile(
        path.join(dir, '.lock'),
        JSON.stringify({
          pid,
          host: os.hostname(),
          startedAt: '2020-01-01T00:00:00.000Z',
          command: 'crashed',
        }),
      );
      const results = await Promise.allSettled([1, 2, 3].map((n) => acquireStoreLock(dir, `build ${n}`)));
      most = Math.max(most, results.filter((r) => r.status === 'fulfilled').length);
    }
    expect(most).toBe(1);
  });
});
