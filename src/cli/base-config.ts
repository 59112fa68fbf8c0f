import path from 'node:path';
import { MAX_TEXT_BYTES, parseConfig, type KilnConfig } from '../core/io/config-load.js';
import { readConfined } from '../core/io/confined-file.js';
import { firstLine, InputError } from '../core/errors.js';

/**
 * Reads kiln.yaml as it stood at a merge base (checked out at `file`), for `kiln keys --base`.
 * Only two outcomes mean "the base has no engines": the file is absent there (a branch that adds
 * kiln), or its content is not a valid config (said on stderr through `note`, since every head
 * engine then counts as new). Anything else (EACCES, EIO, a directory where the file should be)
 * is an error: a silent "no engines" would let the bench compare against nothing.
 */
export async function loadBaseConfig(
  file: string,
  note: (line: string) => void,
): Promise<KilnConfig | undefined> {
  const dir = path.dirname(path.resolve(file));
  let bytes: Buffer;
  try {
    bytes = await readConfined(dir, file, { what: 'config', maxBytes: MAX_TEXT_BYTES });
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw error;
  }
  try {
    return parseConfig(bytes.toString('utf8'), file, dir);
  } catch (error) {
    // InputError is what parseConfig throws about the text; anything else is a bug and surfaces.
    if (!(error instanceof InputError)) throw error;
    note(`the merge base's config is not valid, so it has no engines: ${firstLine(error)}`);
    return undefined;
  }
}

/** readConfined wraps the fs error as `cause`: ENOENT anywhere on the path means absent. */
function isAbsent(error: unknown): boolean {
  const cause = error instanceof Error ? error.cause : undefined;
  return (cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
