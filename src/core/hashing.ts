import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from './canonical-json.js';
import { InputError } from './errors.js';
import { compareText } from './ordering.js';

/** sha256 hex of bytes or a string. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Streaming sha256 of a file: models run to gigabytes, so never read them whole for a hash. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }))
      hash.update(chunk as Buffer);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: cannot read (${code === 'ENOENT' ? 'file not found' : String(code)})`, {
      cause: error,
    });
  }
  return hash.digest('hex');
}

/**
 * sha256 of a folder's content: every regular file's relative path (POSIX separators) and content
 * hash, sorted. Names, bytes and structure count; mtimes, owners and listing order do not.
 */
export async function sha256Tree(dir: string): Promise<string> {
  const info = await stat(dir).catch((error: unknown) => {
    throw new InputError(`${dir}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: error,
    });
  });
  if (info.isFile()) return sha256(canonicalJson({ file: await sha256File(dir) }));
  const files: Array<[string, string]> = [];
  for (const rel of await listFiles(dir)) files.push([rel, await sha256File(path.join(dir, rel))]);
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
