import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors.js';
import { tritonVersions } from '../../../src/store/triton/repository.js';

describe('tritonVersions', () => {
  it('lists numeric version folders, and a model folder not there yet as undefined', async () => {
    const repo = await mkdtemp(path.join(os.tmpdir(), 'kiln-triton-repo-'));
    await mkdir(path.join(repo, 'det', '2'), { recursive: true });
    await mkdir(path.join(repo, 'det', '10'), { recursive: true });
    expect((await tritonVersions(path.join(repo, 'det')))?.sort((a, b) => a - b)).toEqual([2, 10]);
    expect(await tritonVersions(path.join(repo, 'rec'))).toBeUndefined();
  });

  it('a model folder that cannot be looked at is an error naming it, not "no versions yet"', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'kiln-triton-repo-'));
    // The repository path is a file: stat of a model folder under it fails with ENOTDIR.
    await writeFile(path.join(root, 'repo'), 'not a folder');
    const dir = path.join(root, 'repo', 'det');
    const error = await tritonVersions(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(`${dir}: cannot read the Triton model folder (ENOTDIR)`);
  });
});
