/**
 * The one way kiln opens a file that a config names or that sits in a folder a config names (models,
 * external data, manifests, golden and calibration `.npy`): the file must resolve inside `root`, be a
 * regular file, and be no larger than a bound, all checked on the handle that is then read.
 *
 * How it stays race-free without `openat` (which Node lacks):
 * 1. `realpath` the file and the root; refuse when the file resolves outside the root. A symlink
 *    that resolves inside is allowed (consistent with the config's own paths, see repo-paths.ts).
 * 2. Open the REAL path with O_NOFOLLOW (the last component cannot have become a symlink since) and
 *    O_NONBLOCK (a FIFO must not hang the open).
 * 3. Check the opened handle itself: `fstat` must say regular file within the bound, and the kernel's
 *    name for the handle (`/proc/self/fd/N` on Linux) must still be inside the root, so a directory
 *    swapped for a symlink between steps 1 and 2 is caught. Without /proc, the handle's dev/ino must
 *    equal an `lstat` of the checked path taken after the open.
 * A hard link is a regular file inside the root by every test here; git cannot create one, so a
 * checkout cannot carry a hard link to a file outside it.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';
import { isInside } from './repo-paths.js';

export interface ConfinedOpen {
  handle: FileHandle;
  size: number;
}

export interface ConfinedOptions {
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** What the file is, for messages ("golden input", "model file"). */
  what: string;
  /** Names the setting that raises `maxBytes`, for the message when a file is over it. */
  limitName?: string;
  /**
   * `inside` (default): symlinks are followed when they resolve inside the root (paths a config
   * names). `none`: no component below the root may be a symlink (files inside data folders).
   */
  symlinks?: 'inside' | 'none';
}

/** Opens `file` for reading after the checks in the module comment; the caller closes the handle. */
export async function openConfined(
  root: string,
  file: string,
  options: ConfinedOptions,
): Promise<ConfinedOpen> {
  const refuse = (why: string, cause?: unknown): never => {
    throw new InputError(
      `${file}: cannot read ${options.what} (${why})`,
      cause === undefined ? {} : { cause },
    );
  };
  const unreadable = (error: unknown): never =>
    refuse(code(error) === 'ENOENT' ? 'file not found' : code(error), error);
  const realRoot = await realpath(root).catch(unreadable);
  const real = await realpath(file).catch(unreadable);
  if (!isInside(realRoot, real)) refuse(`resolves to ${real}, outside ${realRoot}`);
  if (
    options.symlinks === 'none' &&
    path.relative(realRoot, real) !== path.relative(path.resolve(root), path.resolve(file))
  ) {
    refuse('reached through a symlink; kiln follows no links in data folders');
  }
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    (error: unknown) => refuse(code(error), error),
  );
  try {
    const info = await handle.stat();
    if (info.isDirectory()) refuse('is a directory');
    if (!info.isFile()) refuse(`is ${kindOf(info)}, expected a regular file`);
    const opened = await handleName(handle);
    if (opened !== undefined && !isInside(realRoot, opened))
      refuse(`moved outside ${realRoot} while being opened`);
    if (opened === undefined && !(await sameFile(real, info))) refuse('changed while being opened');
    if (info.size > options.maxBytes) {
      const limit = options.limitName ? ` (${options.limitName})` : '';
      throw new InputError(
        `${file}: ${options.what} is ${info.size} bytes, over the ${options.maxBytes}-byte limit${limit}`,
      );
    }
    return { handle, size: info.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Reads a whole confined file (see {@link openConfined}); the bound is checked before allocating. */
export async function readConfined(root: string, file: string, options: ConfinedOptions): Promise<Buffer> {
  const { handle, size } = await openConfined(root, file, options);
  try {
    const bytes = Buffer.alloc(size);
    let offset = 0;
    while (offset < size) {
      const { bytesRead } = await handle.read(bytes, offset, size - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    // A file that shrank while read is refused rather than parsed short.
    if (offset !== size) throw new InputError(`${file}: ${options.what} changed while being read`);
    return bytes;
  } finally {
    await handle.close();
  }
}

/** The kernel's path for an open handle; undefined where /proc is not mounted. */
async function handleName(handle: FileHandle): Promise<string | undefined> {
  return readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
}

async function sameFile(file: string, info: Stats): Promise<boolean> {
  const now = await lstat(file).catch(() => undefined);
  return now !== undefined && now.isFile() && now.dev === info.dev && now.ino === info.ino;
}

/** "a FIFO", "a device", ... for messages about what a path turned out to be. */
function kindOf(
  info: Pick<
    Stats,
    'isDirectory' | 'isFIFO' | 'isCharacterDevice' | 'isBlockDevice' | 'isSocket' | 'isSymbolicLink'
  >,
): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isSocket()) return 'a socket';
  if (info.isSymbolicLink()) return 'a symlink';
  return 'not a regular file';
}

function code(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}
