/**
 * Listing the folders a config names for data (golden inputs, calibration samples). Nothing below
 * such a folder may be a symlink, FIFO, device or socket: each is refused in one line naming it.
 * Following a symlink there would let a pull request read any file on the runner
 * (`golden/b1/x.npy -> /etc/shadow`) or stream forever (`calib/s0/x.npy -> /dev/zero`), and skipping
 * one silently would make the folder's hash (part of the cache key) disagree with what is loaded.
 * Hidden entries (`.git`, `.DS_Store`) are ignored, as the folder hash ignores them.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';
import { compareText } from '../ordering.js';

export interface FolderEntries {
  /** Regular files, sorted by name. */
  files: string[];
  /** Sub-folders, sorted by name. */
  dirs: string[];
}

/** The plain files and folders directly in `dir`; `what` names the folder in messages. */
export async function listDataFolder(dir: string, what: string): Promise<FolderEntries> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found' : code === 'ENOTDIR' ? 'not a folder' : String(code);
    throw new InputError(`${dir}: ${what} cannot be read (${why})`, { cause: error });
  });
  const files: string[] = [];
  const dirs: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isFile()) files.push(entry.name);
    else if (entry.isDirectory()) dirs.push(entry.name);
    else {
      const kind = entry.isSymbolicLink() ? 'a symlink' : entry.isFIFO() ? 'a FIFO' : 'not a regular file';
      throw new InputError(
        `${path.join(dir, entry.name)}: is ${kind} in ${what}, expected a plain file or folder (kiln follows no links in data folders)`,
      );
    }
  }
  return { files: files.sort(compareText), dirs: dirs.sort(compareText) };
}

/** Relative POSIX paths of every plain file below `dir`, sorted; refuses what {@link listDataFolder} does. */
export async function walkDataFolder(dir: string, what: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    const { files, dirs } = await listDataFolder(path.join(dir, ...rel.split('/').filter(Boolean)), what);
    for (const f of files) out.push(rel ? `${rel}/${f}` : f);
    for (const d of dirs) await visit(rel ? `${rel}/${d}` : d);
  };
  await visit('');
  return out.sort(compareText);
}
