import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { describeValue, formatKeyPath } from '../core/config-issues.js';
import { InputError } from '../core/errors.js';

const EXPECTED = "a relative path inside its folder (segments without '..', '.', '\\', NUL or empty parts)";

/**
 * A path read from artifact.json or release.json: relative, '/'-separated, every segment a plain
 * name. The store itself writes subfolders (`engines/<key>`, golden sample files), so `a/b` is allowed;
 * nothing that could resolve outside the folder is.
 */
export const recordPath = z
  .string()
  .refine(
    (p) =>
      p.length > 0 &&
      p.length <= 1024 &&
      !p.includes('\\') &&
      !p.includes('\0') &&
      !p.startsWith('/') &&
      p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'),
    { message: EXPECTED },
  );

const goldenFiles = z.object({
  inputs: z.record(z.string(), recordPath),
  outputs: z.record(z.string(), recordPath),
});

/** The paths of artifact.json (other fields are checked by their readers). */
export const artifactPaths = z.object({
  engine: z.object({ file: recordPath, files: z.array(z.object({ file: recordPath })).optional() }),
  golden: z.object({ samplesFiles: z.array(goldenFiles) }).optional(),
});

/** The paths of release.json. */
export const releasePaths = z.object({
  engines: z.array(
    z.object({
      dir: recordPath,
      engine: z.object({ file: recordPath }),
      files: z.array(z.object({ path: recordPath })),
    }),
  ),
});

/**
 * Checks every path in a parsed record against `schema`: the first bad one is one InputError line
 * naming the record file, the key path, the value and what was expected.
 */
export function checkRecordPaths(schema: z.ZodType, record: unknown, recordFile: string): void {
  const parsed = schema.safeParse(record);
  if (parsed.success) return;
  const issue = parsed.error.issues[0]!;
  const value = issue.path.reduce<unknown>(
    (node, key) => (node as Record<PropertyKey, unknown> | undefined)?.[key],
    record,
  );
  const expected = issue.code === 'custom' ? EXPECTED : issue.message;
  throw new InputError(
    `${recordFile}: ${formatKeyPath(issue.path)}: found ${describeValue(value)}, expected ${expected}`,
  );
}

/**
 * `folder/rel` when it is a regular file reached through real folders only (no symlink anywhere
 * below `folder`, so nothing can point outside it); undefined when it does not exist. Anything else
 * is one InputError line naming the record file and key path.
 */
export async function regularFileInside(
  folder: string,
  rel: string,
  recordFile: string,
  keyPath: string,
): Promise<string | undefined> {
  const segments = rel.split('/');
  let current = folder;
  for (const [index, segment] of segments.entries()) {
    current = path.join(current, segment);
    const stats = await lstat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw new InputError(`${recordFile}: ${keyPath}: cannot read ${current} (${error.code})`, {
        cause: error,
      });
    });
    if (!stats) return undefined;
    const last = index === segments.length - 1;
    if (last ? stats.isFile() : stats.isDirectory()) continue;
    const what = stats.isSymbolicLink() ? 'a symbolic link' : last ? 'not a regular file' : 'not a folder';
    throw new InputError(
      `${recordFile}: ${keyPath}: ${JSON.stringify(rel)} is ${what} at ${current}, expected a regular file inside ${folder}`,
    );
  }
  return current;
}
