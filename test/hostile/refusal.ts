import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { FAST_BENCH, runKiln, storeFiles, type KilnRun } from '../helpers/kiln-cli.js';

/** Bytes no kiln message may ever show: the content of a file a hostile path reaches. */
export const SECRET = 'TOPSECRET-d41d8cd9';

/** A file outside any workspace holding {@link SECRET}, as /etc/shadow would. */
export async function secretFile(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-outside-'));
  const file = path.join(dir, 'shadow');
  await writeFile(file, `${SECRET}\n`.repeat(8));
  return file;
}

/** kiln.yaml for the two-head synthetic model with one fixed profile `b2` and optional extra keys. */
export function twoHeadConfig(modelExtra = '', topExtra = ''): string {
  return `version: 1
models:
  - name: m
    path: model.onnx
    profiles:
      - name: b2
        shapes: { x: [2, 8], ids: [2, 4] }
${modelExtra}${topExtra}${FAST_BENCH}`;
}

/**
 * Runs `kiln build` (or `args`) and asserts what a user must see for hostile input: exit 2, exactly one
 * line on stderr matching `pattern`, no byte of {@link SECRET}, and nothing in the store.
 */
export async function expectRefused(
  dir: string,
  pattern: RegExp,
  args: string[] = ['build'],
  env: NodeJS.ProcessEnv = {},
): Promise<KilnRun> {
  const run = await runKiln(args, dir, env);
  expect(run.stderr).toMatch(pattern);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.exitCode).toBe(2);
  expect(run.stderr + run.stdout).not.toContain(SECRET.slice(0, 6));
  // Nor its bytes in hex, as the old .npy magic message printed them.
  expect(run.stderr).not.toMatch(/54 4f 50 53/i);
  expect((await storeFiles(path.join(dir, '.kiln/store'))).filter((f) => !f.startsWith('.tmp'))).toEqual([]);
  return run;
}
