import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../core/errors.js';

/** Writes JSON via a temp file and rename, so a reader never sees half a results file. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
    await rename(tmp, file);
  } catch (error) {
    throw new InputError(
      `${file}: cannot write results (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        cause: error,
      },
    );
  }
}
