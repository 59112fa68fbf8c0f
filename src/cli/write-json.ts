import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../core/errors.js';

/** Writes text to this process's stdout, resolving once it is handed to the OS. */
export function writeStdout(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * Writes a `--json` result. `-` means stdout. A regular file or a new path is written via a temp
 * file and rename, so a reader never sees half a results file; anything else that already exists
 * (a device such as /dev/stdout, a fifo, a socket) is written in place, never replaced; a directory
 * is refused in one line.
 */
export async function writeJsonAtomic(
  file: string,
  value: unknown,
  stdout: (text: string) => Promise<void> = writeStdout,
): Promise<void> {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (file === '-') return stdout(text);
  // stat, not lstat: /dev/stdout is a symlink to whatever fd 1 is, and that is what decides.
  const existing = await stat(file).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new InputError(`${file}: is a directory, expected a file to write results to (or '-' for stdout)`);
  }
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    if (existing && !existing.isFile()) {
      await writeFile(file, text);
      return;
    }
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await writeFile(tmp, text);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw new InputError(
      `${file}: cannot write results (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        cause: error,
      },
    );
  }
}
