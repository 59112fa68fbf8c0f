/**
 * Remembered sha256 of files, as git's index remembers blob ids: an entry is trusted only while the
 * file's identity (device, inode, size, mtime and ctime in nanoseconds) is unchanged, so an
 * unchanged multi-gigabyte repository is answered from `fstat` calls. ctime cannot be set from user
 * space, so rewriting a file and restoring its mtime with `utimes` still invalidates the entry.
 *
 * Racy-git rule: a file changed within {@link RACY_MS} of when its hash was taken may change again
 * inside the timestamp granularity without its identity changing, so such a hash is never kept.
 * The persistent file is a cache only: unreadable, corrupt or foreign content is ignored and
 * rebuilt, never trusted; writes go to a temp file renamed into place.
 */
import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A hash of a file changed this recently (ms) before hashing began is not remembered. */
export const RACY_MS = 2000;
/** Entries kept in the persistent file; the least recently hashed go first. */
export const MAX_ENTRIES = 20_000;
const SCHEMA = 'kiln.hash-index/v1';
const SHA256 = /^[0-9a-f]{64}$/;

interface Entry {
  identity: string;
  sha256: string;
  /** When the hash was taken (ms since the epoch): eviction order. */
  at: number;
}

/** The identity an entry is valid for: what `fstat` says about the open file. */
export function fileIdentity(info: BigIntStats): string {
  return [info.dev, info.ino, info.size, info.mtimeNs, info.ctimeNs].join(':');
}

/** Latest of mtime and ctime in ms: the last moment the file's bytes or identity could have changed. */
export function changedAtMs(info: BigIntStats): number {
  const ns = info.mtimeNs > info.ctimeNs ? info.mtimeNs : info.ctimeNs;
  return Number(ns / 1_000_000n);
}

/**
 * Per-process memo plus optional persistent index of file sha256s, keyed by real path and checked
 * against the file's identity on every use.
 */
export class FileHashIndex {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, { identity: string; sha256: Promise<string> }>();
  private loaded: Promise<void> | undefined;
  private dirty = false;
  private writing: Promise<void> = Promise.resolve();

  /** @param file the persistent index, or undefined to remember hashes for this process only. */
  constructor(
    readonly file: string | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The sha256 of the open file at `realPath` whose `fstat` is `info`: remembered when the identity
   * matches, else computed by `compute` (one computation per file and identity at a time).
   */
  async hash(realPath: string, info: BigIntStats, compute: () => Promise<string>): Promise<string> {
    await this.load();
    const identity = fileIdentity(info);
    const known = this.entries.get(realPath);
    if (known?.identity === identity) return known.sha256;
    const inFlight = this.pending.get(realPath);
    if (inFlight?.identity === identity) return inFlight.sha256;
    const startedAt = this.now();
    const sha256 = compute();
    this.pending.set(realPath, { identity, sha256 });
    try {
      const digest = await sha256;
      if (changedAtMs(info) < startedAt - RACY_MS)
        this.remember(realPath, { identity, sha256: digest, at: startedAt });
      return digest;
    } finally {
      if (this.pending.get(realPath)?.sha256 === sha256) this.pending.delete(realPath);
    }
  }

  /** Waits for the persistent file to hold every hash remembered so far (a failed write is ignored). */
  async flush(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      this.writing = this.writing.then(() => this.write());
      await this.writing;
    }
    await this.writing;
  }

  private remember(realPath: string, entry: Entry): void {
    this.entries.delete(realPath);
    this.entries.set(realPath, entry);
    if (this.entries.size > MAX_ENTRIES) {
      const oldest = [...this.entries]
        .sort(([, a], [, b]) => a.at - b.at)
        .slice(0, this.entries.size - MAX_ENTRIES);
      for (const [name] of oldest) this.entries.delete(name);
    }
    if (this.file) this.dirty = true;
  }

  private load(): Promise<void> {
    this.loaded ??= this.file ? this.read(this.file) : Promise.resolve();
    return this.loaded;
  }

  private async read(file: string): Promise<void> {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined || text.length > MAX_ENTRIES * 512) return;
    for (const [name, entry] of parseEntries(text)) this.entries.set(name, entry);
  }

  private async write(): Promise<void> {
    const file = this.file!;
    const temp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    const entries = Object.fromEntries(
      [...this.entries].map(([name, e]) => [name, [e.identity, e.sha256, e.at]]),
    );
    try {
      await makeDir(path.dirname(file), 3);
      await writeFile(temp, JSON.stringify({ schema: SCHEMA, entries }), { mode: 0o600 });
      await rename(temp, file);
    } catch {
      // Only a cache: a read-only home or a full disk costs the next run a re-hash, nothing else.
      await rm(temp, { force: true }).catch(() => undefined);
    }
  }
}

/**
 * Creates `dir` and at most `depth - 1` missing parents. Not `mkdir({ recursive: true })`: under an
 * unwritable pseudo-filesystem (HOME=/proc/…) Node 20's recursive mkdir spins forever.
 */
async function makeDir(dir: string, depth: number): Promise<void> {
  try {
    await mkdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT' || depth <= 1) throw error;
    await makeDir(path.dirname(dir), depth - 1);
    await mkdir(dir).catch((again: unknown) => {
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again;
    });
  }
}

/** Entries of a persistent index's text; anything malformed is dropped (the whole file if need be). */
function parseEntries(text: string): Array<[string, Entry]> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return [];
  }
  const record = data as { schema?: unknown; entries?: unknown };
  if (record?.schema !== SCHEMA || typeof record.entries !== 'object' || record.entries === null) return [];
  const entries: Array<[string, Entry]> = [];
  for (const [name, value] of Object.entries(record.entries as Record<string, unknown>)) {
    if (!Array.isArray(value) || value.length !== 3) continue;
    const [identity, sha256, at] = value as unknown[];
    if (typeof identity !== 'string' || typeof sha256 !== 'string' || !SHA256.test(sha256)) continue;
    if (typeof at !== 'number' || !Number.isFinite(at) || !path.isAbsolute(name)) continue;
    entries.push([name, { identity, sha256, at }]);
  }
  return entries;
}

/**
 * Where the persistent index lives: `KILN_HASH_INDEX` (a file, or `off` for this process only), else
 * `$KILN_HOST_CACHE/hash-index.json`, else `$XDG_CACHE_HOME/kiln/hash-index.json` (default
 * `~/.cache`). Never inside a repository: a pull request must not be able to supply hashes.
 */
export function defaultHashIndexFile(env: NodeJS.ProcessEnv): string | undefined {
  const chosen = env.KILN_HASH_INDEX;
  if (chosen === 'off') return undefined;
  if (chosen) return path.resolve(chosen);
  if (env.KILN_HOST_CACHE) return path.resolve(env.KILN_HOST_CACHE, 'hash-index.json');
  const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(base, 'kiln', 'hash-index.json');
}

let processIndex = new FileHashIndex(undefined);

/** The index {@link sha256File} uses; per-process only until {@link useHashIndex} names a file. */
export function hashIndex(): FileHashIndex {
  return processIndex;
}

/** Makes `index` the one file hashes go through (the CLI sets the persistent one at start). */
export function useHashIndex(index: FileHashIndex): void {
  processIndex = index;
}
