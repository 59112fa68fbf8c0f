import { execa } from 'execa';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadBaseConfig } from '../../src/cli/base-config.js';
import { keysCommand } from '../../src/cli/commands/keys.js';
import { InputError } from '../../src/core/errors.js';
import { gitRepo, twoModelConfig } from '../helpers/git-repo.js';

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

describe('kiln keys --base through real git', () => {
  /** main holds `baseFiles`; the branch `change` (checked out) adds a valid kiln.yaml. */
  async function repo(baseFiles: Record<string, string>) {
    const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'kiln-keys-base-')), 'repo');
    const models = { 'models/det.onnx': 'det', 'models/rec.onnx': 'rec' };
    await gitRepo(dir, [{ ...models, ...baseFiles }, { 'kiln.yaml': twoModelConfig() }]);
    return dir;
  }
  const keys = (dir: string) =>
    keysCommand({
      values: { config: path.join(dir, 'kiln.yaml'), base: 'main', json: path.join(dir, 'keys.json') },
      positionals: [],
    });

  it('a base with an invalid config: no base engines, exit 0, and a note on stderr', async () => {
    const dir = await repo({ 'kiln.yaml': 'version: 1\nmodels: 3\ntargets: []\n' });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await keys(dir)).toBe(0);
      expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toMatch(
        /^kiln: note: the merge base's config is not valid, so it has no engines: .*kiln\.yaml:2: models/,
      );
    } finally {
      stderr.mockRestore();
    }
    expect(JSON.parse(await readFile(path.join(dir, 'keys.json'), 'utf8'))).toEqual([]);
  });

  it('a base where kiln.yaml is a folder: exit 2 with one line, no keys file, no worktree left', async () => {
    const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'kiln-keys-base-')), 'repo');
    await gitRepo(dir, [{ 'kiln.yaml/README': 'a folder, not a config', 'models/det.onnx': 'det' }]);
    // gitRepo writes files over files; turning the folder into a file is done by hand.
    const git = (...args: string[]) => execa('git', args, { cwd: dir });
    await git('checkout', '--quiet', '-b', 'change');
    await git('rm', '--quiet', '-r', 'kiln.yaml');
    await writeFile(path.join(dir, 'kiln.yaml'), twoModelConfig());
    await git('add', '-A');
    await git('commit', '--quiet', '-m', 'kiln.yaml');
    const error = await keys(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).exitCode).toBe(2);
    expect((error as Error).message).toMatch(/kiln\.yaml: cannot read config \(is a directory\)$/);
    await expect(readFile(path.join(dir, 'keys.json'))).rejects.toThrow(/ENOENT/);
    expect((await execa('git', ['worktree', 'list'], { cwd: dir })).stdout.split('\n')).toHaveLength(1);
  });
});
