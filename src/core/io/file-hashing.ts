/** Hashing files and folders: streamed, confined, remembered (the hash index). */
import { createHash } from 'node:crypto';
import { open, readdir, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../canonical-json.js';
import { openConfined, type ConfinedOptions } from './confined-file.js';
import { walkDataFolder } from './data-folder.js';
import { InputError } from '../errors.js';
import { hashIndex } from './file-hash-index.js';
import { compareText } from '../ordering.js';

import { sha256 } from '../hashing.js';

/**
 * Streaming sha256 of a file: models run to gigabytes, so never read them whole for a hash. With
 * `confine`, the file is opened through {@link openConfined} (files a config names or that sit in
 * its data folders), so it must be a regular file inside `confine.root`.
 */
export async function sha256File(
  file: string,
  confine?: { root: string } & Pick<ConfinedOptions, 'what' | 'symlinks'>,
): Promise<string> {
  const unreadable = (error: unknown): never => {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: cannot read (${code === 'ENOENT' ? 'file not found' : String(code)})`, {
      cause: error,
    });
  };
  const handle = confine
    ? (await openConfined(confine.root, file, { ...confine, maxBytes: Number.MAX_SAFE_INTEGER })).handle
    : await open(file, 'r').catch(unreadable);
  try {
    // The identity is taken from the open handle, so the remembered hash is that of what was opened.
    const [real, info] = await Promise.all([realpath(file), handle.stat({ bigint: true })]).catch(unreadable);
    if (!info.isFile()) {
      const code = info.isDirectory() ? 'EISDIR' : 'not a regular file';
      unreadable(Object.assign(new Error(code), { code }));
    }
    return await hashIndex().hash(real, info, () => streamSha256(handle).catch(unreadable));
  } finally {
    await handle.close();
  }
}

async function streamSha256(handle: FileHandle): Promise<string> {
  const hash = createHash('sha256');
  const stream = handle.createReadStream({ start: 0, highWaterMark: 1 << 20, autoClose: false });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * sha256 of a data folder's content: every regular file's relative path (POSIX separators) and
 * content hash, sorted. Names, bytes and structure count; mtimes, owners and listing order do not.
 * A symlink, FIFO or device anywhere below is refused (data-folder.ts), as the loaders refuse it.
 */
export async function sha256Tree(dir: string, what = 'data folder'): Promise<string> {
  const info = await stat(dir).catch((error: unknown) => {
    throw new InputError(`${dir}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: error,
    });
  });
  if (info.isFile()) {
    const file = await sha256File(dir, { root: path.dirname(dir), what });
    return sha256(canonicalJson({ file }));
  }
  const files: Array<[string, string]> = [];
  for (const rel of await walkDataFolder(dir, what)) {
    files.push([rel, await sha256File(path.join(dir, rel), { root: dir, what, symlinks: 'none' })]);
  }
  files.sort(([a], [b]) => compareText(a, b));
  return sha256(canonicalJson({ tree: files }));
}

/** Relative POSIX paths of the regular files under `dir`, hidden entries skipped. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .filter((rel) => !rel.split('/').some((part) => part.startsWith('.')));
}
