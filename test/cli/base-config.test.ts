import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBaseConfig } from '../../src/cli/base-config.js';
import { InputError } from '../../src/core/errors.js';
import { twoModelConfig } from '../helpers/git-repo.js';

/** A scratch merge-base checkout with `kiln.yaml` written as given (or not at all). */
async function base(write?: (file: string) => Promise<void>) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-base-config-'));
  const file = path.join(dir, 'kiln.yaml');
  await write?.(file);
  const notes: string[] = [];
  return { file, notes, load: () => loadBaseConfig(file, (line) => notes.push(line)) };
}

describe('the merge base config for kiln keys --base', () => {
  it('a valid config at the base gives its models, with no note', async () => {
    const b = await base((file) => writeFile(file, twoModelConfig()));
    const config = await b.load();
    expect(config?.models.map((m) => m.name)).toEqual(['det', 'rec']);
    expect(b.notes).toEqual([]);
  });

  it('a base without the config has no engines, quietly (a branch that adds kiln)', async () => {
    const b = await base();
    await expect(b.load()).resolves.toBeUndefined();
    expect(b.notes).toEqual([]);
  });

  it('a base whose config folder does not exist has no engines either', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-base-config-'));
    await expect(loadBaseConfig(path.join(dir, 'ml', 'kiln.yaml'), () => {})).resolves.toBeUndefined();
  });

  it('an invalid config at the base has no engines, and says so in one note naming the key', async () => {
    const b = await base((file) => writeFile(file, 'version: 1\nmodels: 3\ntargets: []\n'));
    await expect(b.load()).resolves.toBeUndefined();
    expect(b.notes).toHaveLength(1);
    expect(b.notes[0]).toMatch(
      /^the merge base's config is not valid, so it has no engines: .*kiln\.yaml:2: models/,
    );
  });

  it('an unreadable config (a directory where the file should be) is an error, not "no engines"', async () => {
    const b = await base((file) => mkdir(file));
    const error = await b.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).exitCode).toBe(2);
    expect((error as Error).message).toMatch(/kiln\.yaml: cannot read config \(is a directory\)$/);
    expect(b.notes).toEqual([]);
  });
});
