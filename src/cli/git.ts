import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../core/errors.js';

/** The repository's top folder, or a one-line error when `cwd` is not in a git repository. */
export async function repoRoot(cwd: string): Promise<string> {
  const result = await execa('git', ['rev-parse', '--show-toplevel'], { cwd, reject: false });
  if (result.exitCode !== 0) throw new InputError(`${cwd}: not inside a git repository`);
  return result.stdout.trim();
}

/** Resolves a revision to a commit sha, naming the ref when it does not exist. */
export async function resolveRevision(root: string, ref: string, flag = '--base'): Promise<string> {
  const result = await execa('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
    cwd: root,
    reject: false,
  });
  if (result.exitCode !== 0) {
    throw new InputError(
      `${flag} ${ref}: not a git revision in ${root} (fetch it, e.g. actions/checkout with fetch-depth: 0)`,
    );
  }
  return result.stdout.trim();
}

/** A detached checkout of `sha` in a temp folder; `remove` deletes it and its worktree record. */
export async function temporaryWorktree(
  root: string,
  sha: string,
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'kiln-base-')), 'tree');
  const added = await execa('git', ['worktree', 'add', '--detach', dir, sha], { cwd: root, reject: false });
  if (added.exitCode !== 0) {
    throw new InputError(`git worktree add ${sha.slice(0, 12)} failed: ${added.stderr.split('\n')[0] ?? ''}`);
  }
  return {
    dir,
    remove: async () => {
      await execa('git', ['worktree', 'remove', '--force', dir], { cwd: root, reject: false });
      await rm(path.dirname(dir), { recursive: true, force: true });
    },
  };
}
