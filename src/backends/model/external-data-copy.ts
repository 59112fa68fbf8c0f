/**
 * Copies a model's external-data files next to an engine that references them. Files run past
 * 2 GiB, Node's largest Buffer, so they are copied by the kernel (`copyFile`: copy_file_range or a
 * reflink where the filesystem has one), never read into memory.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { openConfined } from '../../core/io/confined-file.js';
import { InputError } from '../../core/errors.js';

/**
 * Copies each of `files` (relative locations, as `loadOnnxModel` returns them) from `modelDir` to
 * the same relative path under `outDir`. Each source is re-checked to be a regular file inside
 * `modelDir` and copied from the checked handle.
 * @throws InputError naming the file when it cannot be read or written.
 */
export async function copyExternalData(
  modelDir: string,
  files: readonly string[],
  outDir: string,
): Promise<void> {
  for (const file of files) {
    const source = path.join(modelDir, file);
    const opened = await openConfined(modelDir, source, {
      what: 'external data file',
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
    try {
      const target = path.join(outDir, file);
      await mkdir(path.dirname(target), { recursive: true });
      // Through the checked handle, so the file copied is the one checked, not a swapped-in symlink.
      await copyFile(`/proc/self/fd/${opened.handle.fd}`, target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new InputError(`${source}: cannot copy the external data file into the engine (${code})`, {
        cause: error,
      });
    } finally {
      await opened.handle.close();
    }
  }
}
