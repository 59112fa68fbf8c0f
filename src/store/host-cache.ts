import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { firstLine, InputError } from '../core/errors.js';
import { acquireFileLock, isAlive } from '../core/io/file-lock.js';
import { listFiles } from '../core/io/file-hashing.js';
import type { ArtifactRecord } from './artifact.js';

/** One cached artifact: its size, when it was last used (a counter, not a clock) and its files' hashes. */
interface IndexEntry {
  bytes: number;
  lastUsed: number;
  lastUsedAt: string;
  files: Record<string, string>;
}

interface CacheIndex {
  schema: 'kiln.host-cache/v1';
  /** Bumped on every use: a counter orders uses within one millisecond, which timestamps do not. */
  clock: number;
  entries: Record<string, IndexEntry>;
}

export type CacheGetResult =
  | { status: 'hit'; dir: string; record: ArtifactRecord }
  | { status: 'miss' }
  | { status: 'corrupt'; reason: string };

export interface CachePutResult {
  status: 'stored' | 'exists' | 'too-large';
  bytes: number;
  evicted: string[];
}

export interface HostCacheOptions {
  maxBytes: number;
  /** How long to wait for another job holding the cache lock (copies of large engines happen under it). */
  lockTimeoutMs?: number;
}

/**
 * A local LRU engine cache shared by the jobs on one host: `<dir>/entries/<key>/` holds artifact
 * folders, `<dir>/index.json` their sizes, use order and per-file sha256. Every change happens under
 * `<dir>/.lock`; folders are staged in `<dir>/tmp` and renamed in, and the index is replaced by
 * rename, so a crash leaves at worst an unindexed folder, which the next locked operation sweeps.
 */
export class HostCache {
  constructor(
    readonly dir: string,
    private readonly options: HostCacheOptions,
  ) {}

  /**
   * Copies the artifact folder in, hashing as it copies and checking the engine against
   * `artifact.json`. If another job already cached `key` its entry is kept, so two jobs putting the
   * same key never interleave files. Least-recently-used entries are evicted to stay under maxBytes.
   */
  async put(key: string, folder: string): Promise<CachePutResult> {
    checkKey(key);
    const record = await readRecord(folder);
    await mkdir(path.join(this.dir, 'tmp'), { recursive: true });
    const staging = path.join(this.dir, 'tmp', `${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      const { files, bytes } = await copyTree(folder, staging);
      if (files[record.engine.file] !== record.engine.sha256) {
        throw new InputError(
          `${folder}: engine sha256 differs from artifact.json's; not caching a corrupt artifact`,
        );
      }
      if (bytes > this.options.maxBytes) return { status: 'too-large', bytes, evicted: [] };
      return await this.locked(async (index, doomed) => {
        const entry = index.entries[key];
        if (!entry) {
          await this.remove(key); // an unindexed leftover of a crash, if any
          await rename(staging, this.entryDir(key));
          index.entries[key] = { bytes, files, lastUsed: 0, lastUsedAt: '' };
        }
        touch(index, key);
        const evicted = evictFrom(index, this.options.maxBytes, key);
        doomed.push(...evicted);
        return { status: entry ? 'exists' : 'stored', bytes, evicted };
      });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /**
   * Copies `key` into `intoDir` (which must not exist or be empty), checking every file against the
   * sha256 recorded at put and the engine against `artifact.json`. A mismatch deletes the entry and
   * returns `corrupt`: a flipped bit must cost a rebuild, never a wrong engine.
   */
  async get(key: string, intoDir: string): Promise<CacheGetResult> {
    checkKey(key);
    const staging = `${intoDir}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      return await this.locked(async (index, doomed): Promise<CacheGetResult> => {
        const entry = index.entries[key];
        if (!entry) return { status: 'miss' };
        let record: ArtifactRecord | undefined;
        let reason: string | undefined;
        try {
          const { files } = await copyTree(this.entryDir(key), staging);
          record = await readRecord(staging);
          reason = verify(entry.files, files, record);
        } catch (error) {
          reason = `unreadable (${firstLine(error)})`;
        }
        if (reason || !record) {
          delete index.entries[key];
          doomed.push(key);
          return { status: 'corrupt', reason: reason ?? 'unreadable' };
        }
        touch(index, key);
        await rename(staging, intoDir).catch((error: unknown) => {
          const code = (error as NodeJS.ErrnoException).code;
          throw new InputError(`${intoDir}: cannot place the cached artifact there (${code})`, {
            cause: error,
          });
        });
        return { status: 'hit', dir: intoDir, record };
      });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** Evicts least-recently-used entries until the cache fits maxBytes; returns the evicted keys. */
  evict(): Promise<string[]> {
    return this.locked(async (index, doomed) => {
      const evicted = evictFrom(index, this.options.maxBytes);
      doomed.push(...evicted);
      return evicted;
    });
  }

  /** Cached keys, least recently used first, with their sizes. */
  async list(): Promise<Array<{ key: string; bytes: number; lastUsedAt: string }>> {
    const index = await this.readIndex();
    return lruOrder(index).map((key) => {
      const { bytes, lastUsedAt } = index.entries[key]!;
      return { key, bytes, lastUsedAt };
    });
  }

  /**
   * Runs `fn` under the cache lock with the current index, writes the index back, then deletes the
   * folders `fn` doomed: index first, so a crash in between leaves orphans (swept), never entries
   * that point at nothing.
   */
  private async locked<T>(fn: (index: CacheIndex, doomed: string[]) => Promise<T>): Promise<T> {
    await mkdir(path.join(this.dir, 'entries'), { recursive: true });
    await mkdir(path.join(this.dir, 'tmp'), { recursive: true });
    const lock = await acquireFileLock(path.join(this.dir, '.lock'), 'kiln-agent host cache', {
      wait: { timeoutMs: this.options.lockTimeoutMs ?? 600_000, pollMs: 50 },
    });
    try {
      const index = await this.readIndex();
      const doomed: string[] = [];
      const result = await fn(index, doomed);
      await this.writeIndex(index);
      for (const key of doomed) await this.remove(key);
      await this.sweep(index);
      return result;
    } finally {
      await lock.release();
    }
  }

  /** Removes entry folders the index does not know and staging folders of dead processes. */
  private async sweep(index: CacheIndex): Promise<void> {
    for (const name of await readdir(path.join(this.dir, 'entries'))) {
      if (!index.entries[name]) await this.remove(name);
    }
    for (const name of await readdir(path.join(this.dir, 'tmp')).catch(() => [])) {
      const pid = Number(name.split('-')[0]);
      if (Number.isInteger(pid) && pid > 0 && !isAlive(pid)) {
        await rm(path.join(this.dir, 'tmp', name), { recursive: true, force: true });
      }
    }
  }

  private entryDir(key: string): string {
    return path.join(this.dir, 'entries', key);
  }

  /** Renames a folder aside before deleting it: rename is atomic, deleting a tree is not. */
  private async remove(key: string): Promise<void> {
    const trash = path.join(this.dir, 'tmp', `${process.pid}-trash-${randomBytes(6).toString('hex')}`);
    const moved = await rename(this.entryDir(key), trash).then(
      () => true,
      () => false,
    );
    if (moved) await rm(trash, { recursive: true, force: true });
  }

  private async readIndex(): Promise<CacheIndex> {
    try {
      const index = JSON.parse(await readFile(path.join(this.dir, 'index.json'), 'utf8')) as CacheIndex;
      if (index.schema === 'kiln.host-cache/v1' && typeof index.entries === 'object') return index;
    } catch {
      // Missing or unreadable: start empty; the sweep then drops the folders it no longer vouches for.
    }
    return { schema: 'kiln.host-cache/v1', clock: 0, entries: {} };
  }

  private async writeIndex(index: CacheIndex): Promise<void> {
    // Staged under tmp/ with our pid, so a crash mid-write leaves litter the sweep recognises.
    const temp = path.join(this.dir, 'tmp', `${process.pid}-index-${randomBytes(4).toString('hex')}.json`);
    await writeFile(temp, `${JSON.stringify(index, null, 2)}\n`);
    await rename(temp, path.join(this.dir, 'index.json'));
  }
}

function touch(index: CacheIndex, key: string): void {
  const entry = index.entries[key]!;
  entry.lastUsed = ++index.clock;
  entry.lastUsedAt = new Date().toISOString();
}

/** Drops least-recently-used entries (never `keep`) from the index until it fits; returns their keys. */
function evictFrom(index: CacheIndex, maxBytes: number, keep?: string): string[] {
  const evicted: string[] = [];
  let total = Object.values(index.entries).reduce((sum, e) => sum + e.bytes, 0);
  for (const key of lruOrder(index)) {
    if (total <= maxBytes) break;
    if (key === keep) continue;
    total -= index.entries[key]!.bytes;
    delete index.entries[key];
    evicted.push(key);
  }
  return evicted;
}

function lruOrder(index: CacheIndex): string[] {
  return Object.keys(index.entries).sort((a, b) => index.entries[a]!.lastUsed - index.entries[b]!.lastUsed);
}

/** Why a copied entry cannot be trusted, or undefined when every file matches. */
function verify(
  expected: Record<string, string>,
  actual: Record<string, string>,
  record: ArtifactRecord,
): string | undefined {
  for (const file of Object.keys(actual)) if (!(file in expected)) return `${file} was not cached`;
  for (const [file, sha] of Object.entries(expected)) {
    if (actual[file] === undefined) return `${file} is missing`;
    if (actual[file] !== sha)
      return `${file} sha256 ${actual[file]!.slice(0, 12)} differs from ${sha.slice(0, 12)}`;
  }
  if (actual[record.engine.file] !== record.engine.sha256)
    return `engine sha256 differs from artifact.json's`;
  return undefined;
}

/** Keys become folder names: hex digests and similar only, never a path. */
function checkKey(key: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(key))
    throw new InputError(`cache key ${JSON.stringify(key)} is not usable`);
}

async function readRecord(folder: string): Promise<ArtifactRecord> {
  try {
    const record = JSON.parse(await readFile(path.join(folder, 'artifact.json'), 'utf8')) as ArtifactRecord;
    if (typeof record.engine?.file !== 'string' || typeof record.engine.sha256 !== 'string')
      throw new Error('no engine');
    return record;
  } catch (error) {
    throw new InputError(`${folder}: artifact.json is missing or does not name an engine`, { cause: error });
  }
}

/** Copies every (non-hidden) file of `from` into a new `to`, hashing on the way: one read per byte. */
async function copyTree(from: string, to: string): Promise<{ files: Record<string, string>; bytes: number }> {
  const files: Record<string, string> = {};
  let bytes = 0;
  for (const rel of await listFiles(from)) {
    const target = path.join(to, ...rel.split('/'));
    await mkdir(path.dirname(target), { recursive: true });
    const hash = createHash('sha256');
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        bytes += chunk.length;
        callback(null, chunk);
      },
    });
    await pipeline(
      createReadStream(path.join(from, ...rel.split('/'))),
      tap,
      createWriteStream(target, { flags: 'wx' }),
    );
    files[rel] = hash.digest('hex');
  }
  return { files, bytes };
}
