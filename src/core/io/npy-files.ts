/** Reading and writing `.npy` files (the format itself is ../npy.ts, pure). */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { readConfined, type ConfinedOptions } from './confined-file.js';
import { InputError } from '../errors.js';
import { DEFAULT_LIMITS } from '../limits.js';
import { encodeNpy, parseNpy } from '../npy.js';
import type { HostTensor } from '../tensor.js';

export interface ReadNpyOptions extends Partial<
  Pick<ConfinedOptions, 'maxBytes' | 'limitName' | 'symlinks'>
> {
  /** The folder the file must stay inside (default: its own folder). */
  root?: string;
}

/**
 * Reads and parses a `.npy` file through {@link readConfined}: a regular file inside `root`, at most
 * `maxBytes` long (checked before the body is read). Any problem is an InputError naming the path.
 */
export async function readNpy(path: string, options: ReadNpyOptions = {}): Promise<HostTensor> {
  const bytes = await readConfined(options.root ?? dirname(path), path, {
    what: '.npy file',
    maxBytes: options.maxBytes ?? DEFAULT_LIMITS.maxTensorBytes,
    ...(options.limitName ? { limitName: options.limitName } : {}),
    ...(options.symlinks ? { symlinks: options.symlinks } : {}),
  });
  return parseNpy(bytes, path);
}

/** Writes `t` as a `.npy` file, creating the parent directory if needed. */
export async function writeNpy(path: string, t: HostTensor): Promise<void> {
  const bytes = encodeNpy(t);
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
  } catch (error) {
    throw new InputError(`${path}: cannot write .npy file: ${(error as Error).message}`, { cause: error });
  }
}
