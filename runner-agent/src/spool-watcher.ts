import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** Where a spool file came from, for the watcher's callback. */
export interface SpoolFileInfo {
  file: string;
  /**
   * The file was already in the folder when watching started, so an earlier agent process may have
   * counted it: refresh gauges only, do not count it again.
   */
  replay: boolean;
}

export interface SpoolWatcherOptions<T> {
  /** Parses one file; a throw means "not (yet) a valid file". */
  read: (file: string) => Promise<T>;
  /** Receives each parsed file once per version, oldest first. */
  handle: (item: T, info: SpoolFileInfo) => void | Promise<void>;
  /** Names the spool in error messages, e.g. `results folder`. */
  label: string;
  /** Poll period (default 2 s). */
  intervalMs?: number;
  /** Files already present at start: `replay` (default) passes them with `replay: true`; `skip` ignores them. */
  existing?: 'replay' | 'skip';
  /** A missing folder is normal (nothing written yet) rather than reported. */
  quietWhenMissing?: boolean;
  /** A file that does not parse, or a callback that threw; the watcher keeps going. */
  onError?: (error: Error, file: string) => void;
}

export interface SpoolWatcher {
  /** One scan now (also what each poll runs); resolves once new files have been handed over. */
  scan(): Promise<void>;
  /** Stops polling and waits for a scan in progress. */
  close(): Promise<void>;
}

/** Identity of one version of a file: a rename over it (how kiln writes JSON) changes the inode. */
interface FileVersion {
  signature: string;
  mtimeMs: number;
}

/**
 * Watches `dir` for `*.json` files and hands each parsed one to `handle`, oldest file first so the
 * latest measurement wins in gauges. It polls rather than using fs.watch, which misses events on
 * NFS and other network filesystems where a spool shared by runners often lives.
 *
 * Each version of a file is processed once: the same name is processed again only if it was replaced
 * (new inode, size or mtime). A file that does not parse is retried on the next poll in case it was
 * still being copied, and reported through `onError` once it stops changing. Files whose names no
 * longer appear are forgotten, so memory stays bounded by the folder's contents. A missing folder is
 * reported once (unless `quietWhenMissing`) and polled until it appears.
 */
export function watchSpool<T>(dir: string, options: SpoolWatcherOptions<T>): SpoolWatcher {
  const intervalMs = options.intervalMs ?? 2_000;
  const onError = options.onError ?? ((error: Error) => console.error(`kiln-agent: ${error.message}`));
  /** name -> signature of the version already handed over (or given up on). */
  const done = new Map<string, string>();
  /** name -> signature of a version that failed to parse once; one more identical failure is final. */
  const failedOnce = new Map<string, string>();
  let first = true;
  let lastDirError: string | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function scanOnce(): Promise<void> {
    // Only files seen on the very first look are "already there"; if the folder did not exist yet,
    // whatever appears in it later is new.
    const replay = first && options.existing !== 'skip';
    const skip = first && options.existing === 'skip';
    first = false;
    let names: string[];
    try {
      names = (await readdir(dir)).filter((name) => name.endsWith('.json') && !name.startsWith('.'));
      lastDirError = undefined;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && options.quietWhenMissing) return;
      const message = `${options.label} ${dir}: ${code ?? (error as Error).message}`;
      if (message !== lastDirError) onError(new Error(message, { cause: error }), dir);
      lastDirError = message;
      return;
    }
    const present = new Set(names);
    for (const name of [...done.keys()]) if (!present.has(name)) done.delete(name);
    for (const name of [...failedOnce.keys()]) if (!present.has(name)) failedOnce.delete(name);

    const fresh: { name: string; version: FileVersion }[] = [];
    for (const name of names) {
      let version: FileVersion;
      try {
        const s = await stat(path.join(dir, name));
        if (!s.isFile()) continue;
        version = { signature: `${s.ino}:${s.size}:${s.mtimeMs}`, mtimeMs: s.mtimeMs };
      } catch {
        continue; // removed between readdir and stat
      }
      if (done.get(name) === version.signature) continue;
      if (skip) {
        done.set(name, version.signature);
        continue;
      }
      fresh.push({ name, version });
    }
    fresh.sort((a, b) => a.version.mtimeMs - b.version.mtimeMs || a.name.localeCompare(b.name));

    for (const { name, version } of fresh) {
      if (closed) return;
      const file = path.join(dir, name);
      let item: T;
      try {
        item = await options.read(file);
      } catch (error) {
        if (failedOnce.get(name) === version.signature) {
          failedOnce.delete(name);
          done.set(name, version.signature);
          onError(error as Error, file);
        } else {
          failedOnce.set(name, version.signature);
        }
        continue;
      }
      failedOnce.delete(name);
      // Marked before the callback so a callback that throws does not make a file count twice.
      done.set(name, version.signature);
      try {
        await options.handle(item, { file, replay });
      } catch (error) {
        onError(new Error(`${file}: ${(error as Error).message}`, { cause: error }), file);
      }
    }
  }

  function scan(): Promise<void> {
    // Scans never overlap: a slow filesystem must not make two scans hand over the same file.
    running ??= scanOnce().finally(() => {
      running = undefined;
    });
    return running;
  }

  function schedule(): void {
    if (closed) return;
    timer = setTimeout(() => {
      void scan().finally(schedule);
    }, intervalMs);
    // The HTTP server keeps the agent alive; the watcher alone should not.
    timer.unref();
  }

  void scan().finally(schedule);
  return {
    scan,
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
}
