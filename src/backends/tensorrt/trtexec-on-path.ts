/**
 * Whether TensorRT can run here: `trtexec` on PATH. Kept free of execa and the int8 stack so that
 * backend-availability.ts (choosing targets, a cache-hit build) can ask without loading them.
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { TRTEXEC } from './trtexec-args.js';

/** The first executable `name` on PATH, or undefined (cheap, synchronous, never throws). */
export function findExecutable(
  name: string,
  pathEnv: string | undefined = process.env.PATH,
): string | undefined {
  for (const dir of (pathEnv ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Whether a backend can run here, and if not, what is missing (one line, for errors and doctor). */
export type Availability = { available: true } | { available: false; reason: string };

/** TensorRT runs where `trtexec` is on PATH. */
export function detectTensorRt(pathEnv?: string): Availability {
  return findExecutable(TRTEXEC, pathEnv)
    ? { available: true }
    : { available: false, reason: 'trtexec not on PATH (install TensorRT and add its bin/ to PATH)' };
}
